// Refresh the operations dashboard without a full reload.
(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  async function refresh() {
    try {
      const response = await fetch(root.dataset.refreshUrl, { credentials: "same-origin" });
      if (response.ok) root.innerHTML = await response.text();
    } catch (error) { /* keep the last figures; try again next time */ }
  }
  setInterval(refresh, 10000);
})();
