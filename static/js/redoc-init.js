// Starts ReDoc on /api/redoc/ without an inline script. ReDoc's styled-components add
// <style> elements; the nonce of this script (readable here, hidden from the page's markup)
// tags them so the page's CSP lets them apply.
(function () {
  "use strict";
  var nonce = document.currentScript.nonce;
  var container = document.getElementById("redoc-container");
  window.Redoc.init(container.getAttribute("data-spec-url"), { nonce: nonce }, container);
})();
