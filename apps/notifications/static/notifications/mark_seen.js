// The notifications page, once its reader has it on screen: POST the ids of the unread ones
// it shows (the page's hidden form, with its CSRF token) to mark them read, and set the
// header's count from the answer. Only a POST marks anything, so a link preview, a prefetch
// or a page being prerendered does not; without the script, "Mark all read" does it.
(function () {
  "use strict";

  const form = document.querySelector("form[data-mark-seen]");
  if (!form) return;

  function showCount(unread) {
    document.querySelectorAll("[data-unread-count]").forEach((badge) => {
      if (unread > 0) badge.firstChild.textContent = unread > 99 ? "99+" : String(unread);
      else badge.remove();
    });
    if (unread === 0) document.querySelectorAll("[data-mark-all]").forEach((other) => other.remove());
  }

  let sent = false;
  async function markSeen() {
    if (sent || document.visibilityState !== "visible" || document.prerendering) return;
    sent = true;
    const token = form.querySelector("input[name=csrfmiddlewaretoken]");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json", "X-CSRFToken": token ? token.value : "" },
        credentials: "same-origin",
      });
      if (response.ok) showCount((await response.json()).unread);
    } catch (error) {
      /* still unread: the next visit, or "Mark all read", marks them */
    }
  }

  markSeen();
  document.addEventListener("visibilitychange", markSeen);
  document.addEventListener("prerenderingchange", markSeen);
})();
