// Refresh consent: the local card helper signs this page's consent document (POST /v1/sign-consent; it shows the
// resident the operator and the purpose first), then the page posts the signature to the idp, which lodges it at
// J-LIS (docs/lifecycle.md). The helper calls are anchorid/cardhelper.js's, loaded first. No PIN ever passes
// through this page. No inline script (the CSP forbids it).
"use strict";

(function () {
  const page = window.AnchorIdCardHelper.page("consent-action", "consent");
  if (!page) return;

  async function sign() {
    const result = await page.signAndComplete({ path: "/v1/sign-consent", field: "document" });
    if (result && result.ok) {
      window.location.assign(result.answer.redirect);
      return;
    }
    if (result) page.show(result.answer.message || page.messageFor("unexpected"), "error");
    page.button.disabled = false;
  }

  page.button.addEventListener("click", sign);
})();
