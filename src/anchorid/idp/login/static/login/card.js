// Card login, card-only emergency stop and resumption: ask the local card helper to sign this page's challenge,
// post its answer to the idp (anchorid/cardhelper.js, loaded first; docs/protocols/card-helper.md); no PIN here.
"use strict";

(function () {
  const page = window.AnchorIdCardHelper.page("card-action", "card");
  if (!page) return;

  async function useCard() {
    const result = await page.signAndComplete();
    if (!result) return;
    const answer = result.answer;
    if (result.ok) {
      window.location.assign(answer.redirect);
      return;
    }
    page.show(answer.message || page.messageFor("unexpected"), "error");
    if (answer.resume) {
      const link = document.createElement("a");
      link.href = answer.resume;
      link.textContent = " →";
      page.status.appendChild(link);
    }
  }

  page.button.addEventListener("click", useCard);
})();
