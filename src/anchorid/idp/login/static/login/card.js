// Card login, card-only emergency stop and resumption: ask the local card helper to sign this page's challenge,
// post its answer to the idp. Same helper protocol as onboarding (docs/protocols/card-helper.md); no PIN here.
"use strict";

(function () {
  const root = document.getElementById("card-action");
  if (!root) return;
  const status = document.getElementById("card-status");
  const button = document.getElementById("card-start");
  const messages = document.getElementById("card-messages");

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

  async function useCard() {
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
        window.location.assign(answer.redirect);
      } else {
        show(answer.message || messageFor("unexpected"), "error");
        if (answer.resume) {
          const link = document.createElement("a");
          link.href = answer.resume;
          link.textContent = " →";
          status.appendChild(link);
        }
      }
    } catch (error) {
      show(messageFor("unexpected"), "error");
    }
  }

  button.addEventListener("click", useCard);
})();
