/* Passkey ceremonies for AnchorID pages: navigator.credentials.create/get with base64url conversions.
 * No inline script (strict CSP): pages mark their form with data-passkey="register" or "login" and
 * data-options / data-finish URLs. The server does every check; this only carries bytes both ways. */
(function () {
  "use strict";

  function b64urlToBuffer(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function bufferToB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    json.challenge = b64urlToBuffer(json.challenge);
    json.user.id = b64urlToBuffer(json.user.id);
    (json.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuffer(c.id); });
    return json;
  }

  function requestOptions(json) {
    json.challenge = b64urlToBuffer(json.challenge);
    (json.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuffer(c.id); });
    return json;
  }

  function registrationJSON(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: bufferToB64url(r.clientDataJSON),
        attestationObject: bufferToB64url(r.attestationObject),
        transports: typeof r.getTransports === "function" ? r.getTransports() : []
      }
    };
  }

  function authenticationJSON(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: bufferToB64url(r.clientDataJSON),
        authenticatorData: bufferToB64url(r.authenticatorData),
        signature: bufferToB64url(r.signature),
        userHandle: r.userHandle ? bufferToB64url(r.userHandle) : null
      }
    };
  }

  function post(url, form, body, extraHeaders) {
    var headers = { "Content-Type": "application/json", "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value };
    Object.keys(extraHeaders || {}).forEach(function (k) { headers[k] = extraHeaders[k]; });
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body || "{}" })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) { throw new Error(data.message || response.statusText); }
          return data;
        });
      });
  }

  function show(form, text, kind) {
    var status = form.querySelector("[data-passkey-status]");
    status.textContent = text;
    status.className = "notice notice--" + kind;
    status.hidden = false;
  }

  function withNext(url, form) {
    var next = form.querySelector("[name=next]");
    return next && next.value ? url + "?next=" + encodeURIComponent(next.value) : url;
  }

  function register(form) {
    var nameField = form.querySelector("[name=name]");
    var name = nameField ? nameField.value : "";
    return post(form.dataset.options, form).then(function (options) {
      return navigator.credentials.create({ publicKey: creationOptions(options) });
    }).then(function (credential) {
      return post(withNext(form.dataset.finish, form), form, JSON.stringify(registrationJSON(credential)),
                  { "X-Passkey-Name": encodeURIComponent(name) });
    });
  }

  function login(form) {
    return post(form.dataset.options, form).then(function (options) {
      return navigator.credentials.get({ publicKey: requestOptions(options) });
    }).then(function (credential) {
      return post(withNext(form.dataset.finish, form), form, JSON.stringify(authenticationJSON(credential)));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-passkey]").forEach(function (form) {
      if (!window.PublicKeyCredential) {
        show(form, form.dataset.unsupported, "error");
        return;
      }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = form.querySelector("button[type=submit]");
        button.disabled = true;
        show(form, form.dataset.working, "info");
        var ceremony = form.dataset.passkey === "register" ? register(form) : login(form);
        ceremony.then(function (result) {
          show(form, form.dataset.done, "success");
          window.location.assign(result.redirect);
        }).catch(function (error) {
          var message = error && error.name === "NotAllowedError" ? form.dataset.cancelled : (error.message || String(error));
          show(form, message, "error");
          button.disabled = false;
        });
      });
    });
  });
})();
