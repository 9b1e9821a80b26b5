// Refresh consent: the local card helper signs this page's consent document (POST /v1/sign-consent; it shows the
// resident the operator and the purpose first), then the page posts the signature to the idp, which lodges it at
// J-LIS (docs/lifecycle.md). No PIN ever passes through this page. No inline script (the CSP forbids it).
"use strict";

(function () {
  const root = document.getElementById("consent-action");
  if (!root) return;
  const status = document.getElementById("consent-status");
  const button = document.getElementById("consent-start");
  const messages = document.getElementById("consent-messages");

  function messageFor(code) {
    const element = messages.querySelector('[data-code="' + code + '"]');
    return element ? element.textContent.trim() : null;
  }

  function show(text, kind) {
    status.hidden = false;
    status.className = "notice notice--" + (kind || "info");
    status.textContent = text;
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function sign() {
    button.disabled = true;
    show(messageFor("working"));
    let signed;
    try {
      const reply = await fetch(root.dataset.helperUrl + "/v1/sign-consent", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ document: root.dataset.document }),
      });
      signed = await reply.json();
      if (!reply.ok) {
        show(messageFor(signed.error) || signed.message || messageFor("unexpected"), "error");
        button.disabled = false;
        return;
      }
    } catch (error) {
      show(messageFor("helper_unreachable"), "error");
      button.disabled = false;
      return;
    }
    show(messageFor("verifying"));
    try {
      const reply = await fetch(root.dataset.completeUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({
          document: root.dataset.document,
          certificate: signed.certificate,
          signature: signed.signature,
        }),
      });
      const answer = await reply.json();
      if (reply.ok) {
        window.location.assign(answer.redirect);
        return;
      }
      show(answer.message || messageFor("unexpected"), "error");
    } catch (error) {
      show(messageFor("unexpected"), "error");
    }
    button.disabled = false;
  }

  button.addEventListener("click", sign);
})();
