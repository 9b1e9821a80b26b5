// Card onboarding page: ask the local card helper to sign this page's challenge, post the result to the idp;
// meanwhile poll for a cross-device completion. No PIN ever passes through this script
// (docs/protocols/card-helper.md).
"use strict";

(function () {
  const root = document.getElementById("onboarding");
  if (!root) return;
  const status = document.getElementById("onboarding-status");
  const button = document.getElementById("onboarding-start");
  const messages = document.getElementById("onboarding-messages");
  let finished = false;

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

  function done(answer) {
    finished = true;
    show(answer.message, "success");
    if (answer.next) window.setTimeout(function () { window.location.assign(answer.next); }, 1500);
  }

  async function readCard() {
    button.disabled = true;
    show(messageFor("working"));
    let signed;
    try {
      const reply = await fetch(root.dataset.helperUrl + "/v1/sign", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ challenge: root.dataset.challenge }),
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
          challenge: root.dataset.challenge,
          certificate: signed.certificate,
          signature: signed.signature,
        }),
      });
      const answer = await reply.json();
      if (reply.ok) {
        done(answer);
      } else {
        show(answer.message || messageFor("unexpected"), "error");
      }
    } catch (error) {
      show(messageFor("unexpected"), "error");
    }
  }

  async function poll() {
    if (finished) return;
    try {
      const reply = await fetch(
        root.dataset.statusUrl + "?challenge=" + encodeURIComponent(root.dataset.nonce),
        { credentials: "same-origin" },
      );
      const answer = await reply.json();
      if (reply.ok && answer.state === "done") {
        done(answer);
        return;
      }
      if (!reply.ok) {
        finished = true;
        show(answer.message || messageFor("unexpected"), "error");
        return;
      }
    } catch (error) {
      // The network may blink; keep polling until the challenge expires.
    }
    window.setTimeout(poll, 2000);
  }

  button.addEventListener("click", readCard);
  window.setTimeout(poll, 2000);
})();
