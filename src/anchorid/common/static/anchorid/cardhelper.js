// The page side of the local card helper (docs/protocols/card-helper.md), shared by every page that has the card
// sign a challenge (card onboarding, card login, emergency stop and resumption) or a document (refresh consent). Ask
// the helper on localhost to sign it, post its answer to the page's completion URL; no PIN ever passes a page.
// Loaded before the page's own script; no inline script (the CSP forbids it).
"use strict";

window.AnchorIdCardHelper = (function () {
  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The page's parts by element id: the root (data-helper-url, data-challenge, data-complete-url), and
  // <prefix>-status (the status line), <prefix>-start (the button), <prefix>-messages (messages by data-code).
  // Null when the page has no such root.
  function page(rootId, prefix) {
    const root = document.getElementById(rootId);
    if (!root) return null;
    const status = document.getElementById(prefix + "-status");
    const button = document.getElementById(prefix + "-start");
    const messages = document.getElementById(prefix + "-messages");

    function messageFor(code) {
      const element = messages.querySelector('[data-code="' + code + '"]');
      return element ? element.textContent.trim() : null;
    }

    function show(text, kind) {
      status.hidden = false;
      status.className = "notice notice--" + (kind || "info");
      status.textContent = text;
    }

    // Helper signs, idp verifies. Resolves to {ok, answer} with the idp's reply, or null when it stopped on the
    // way (the reason is shown already). By default the helper's /v1/sign signs the root's data-challenge; a page
    // that has a document signed passes {path: "/v1/sign-consent", field: "document"} (data-document). The
    // completion body carries the same field with the helper's certificate and signature.
    async function signAndComplete(what) {
      const path = (what && what.path) || "/v1/sign";
      const field = (what && what.field) || "challenge";
      const value = root.dataset[field];
      button.disabled = true;
      show(messageFor("working"));
      let signed;
      try {
        const reply = await fetch(root.dataset.helperUrl + path, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ [field]: value }),
        });
        signed = await reply.json();
        if (!reply.ok) {
          show(messageFor(signed.error) || signed.message || messageFor("unexpected"), "error");
          button.disabled = false;
          return null;
        }
      } catch (error) {
        show(messageFor("helper_unreachable"), "error");
        button.disabled = false;
        return null;
      }
      show(messageFor("verifying"));
      try {
        const reply = await fetch(root.dataset.completeUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({
            [field]: value,
            certificate: signed.certificate,
            signature: signed.signature,
          }),
        });
        return { ok: reply.ok, answer: await reply.json() };
      } catch (error) {
        show(messageFor("unexpected"), "error");
        return null;
      }
    }

    return { root: root, status: status, button: button, messageFor: messageFor, show: show,
             signAndComplete: signAndComplete };
  }

  return { page: page };
})();
