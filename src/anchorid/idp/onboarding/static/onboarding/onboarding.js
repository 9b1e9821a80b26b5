// Card onboarding page: ask the local card helper to sign this page's challenge, post the result to the idp
// (anchorid/cardhelper.js, loaded first); meanwhile poll for a cross-device completion. No PIN ever passes
// through this script (docs/protocols/card-helper.md).
"use strict";

(function () {
  const page = window.AnchorIdCardHelper.page("onboarding", "onboarding");
  if (!page) return;
  const root = page.root;
  let finished = false;

  function done(answer) {
    finished = true;
    page.show(answer.message, "success");
    if (answer.next) window.setTimeout(function () { window.location.assign(answer.next); }, 1500);
  }

  async function readCard() {
    const result = await page.signAndComplete();
    if (!result) return;
    if (result.ok) {
      done(result.answer);
    } else {
      page.show(result.answer.message || page.messageFor("unexpected"), "error");
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
        page.show(answer.message || page.messageFor("unexpected"), "error");
        return;
      }
    } catch (error) {
      // The network may blink; keep polling until the challenge expires.
    }
    window.setTimeout(poll, 2000);
  }

  page.button.addEventListener("click", readCard);
  window.setTimeout(poll, 2000);
})();
