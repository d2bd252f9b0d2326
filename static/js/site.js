// photosite: small progressive enhancements. Every feature here also works without it
// (plain links and forms); the script only saves a page load.
(function () {
  "use strict";

  // The page's words for the script's own texts (templates/_js_strings.html), English if absent.
  const strings = JSON.parse((document.getElementById("js-strings") || {}).textContent || "{}");
  const t = (text, values) =>
    Object.entries(values || {}).reduce((out, [name, value]) => out.replace("{" + name + "}", value), strings[text] || text);

  function csrfToken(form) {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function postJson(form) {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken(form) },
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || t("Something went wrong. Please try again."));
    return body;
  }

  // A photo still processing: look again in a few seconds (without scripts a <noscript>
  // meta refresh does it; axe counts a timed meta refresh against WCAG 2.2.1).
  const reload = document.querySelector("[data-reload-after]");
  if (reload) setTimeout(() => window.location.reload(), Number(reload.dataset.reloadAfter) * 1000);

  // Like and follow buttons toggle in place; the form posts normally if the script fails.
  function toggle(form, field, render) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const result = await postJson(form);
        const on = form.elements[field].value === "1";
        form.elements[field].value = on ? "0" : "1";
        button.setAttribute("aria-pressed", on ? "true" : "false");
        button.classList.toggle("on", on);
        render(button, on, result);
      } catch (error) {
        window.alert(error.message);
      } finally {
        button.disabled = false;
      }
    });
  }

  document.querySelectorAll("form[data-like]").forEach((form) =>
    toggle(form, "liked", (button, on, result) => {
      button.querySelector("[data-like-label]").textContent = on ? t("Liked") : t("Like");
      document.querySelectorAll("[data-like-count]").forEach((node) => (node.textContent = result.count));
    })
  );
  document.querySelectorAll("form[data-follow]").forEach((form) =>
    toggle(form, "following", (button, on) => {
      button.textContent = on ? t("Following") : t("Follow");
      button.classList.toggle("primary", !on);
    })
  );

  // Infinite scroll: when the "More photos" link comes into view, fetch the next cards
  // (?partial=1 answers JSON) and append them; the link itself still works without this.
  // Resolves to whether cards were added; one fetch at a time.
  let loading = null;
  function loadMore(link, observer) {
    if (loading) return loading;
    const url = new URL(link.href, window.location.href);
    url.searchParams.set("partial", "1");
    loading = fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response)))
      .then((page) => {
        const grid = document.querySelector("[data-grid]");
        grid.insertAdjacentHTML("beforeend", page.html);
        // A timeline page that starts inside the month the last one ended in repeats its heading: drop it.
        const months = new Set();
        grid.querySelectorAll("[data-month]").forEach((heading) => {
          if (!months.has(heading.dataset.month)) { months.add(heading.dataset.month); return; }
          const filler = heading.previousElementSibling;
          if (filler && filler.classList.contains("grid-filler")) filler.remove();
          heading.remove();
        });
        if (page.next) {
          link.href = page.next;
          // Observe afresh: if the link is still on screen (short pages), that fires again.
          if (observer) { observer.unobserve(link); observer.observe(link); }
        } else {
          link.parentElement.remove();
        }
        return true;
      })
      .catch(() => {
        link.textContent = t("More photos (could not load; click to retry)");
        return false;
      })
      .finally(() => { loading = null; });
    return loading;
  }
  const more = document.querySelector("a[data-more]");
  let moreObserver = null;
  if (more && "IntersectionObserver" in window) {
    moreObserver = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) loadMore(more, moreObserver);
    }, { rootMargin: "600px" });
    moreObserver.observe(more);
  }
  // The fullscreen viewer (viewer.js) steps past the last card by asking for the next page.
  window.photositeLoadMore = () =>
    more && document.contains(more) ? loadMore(more, moreObserver) : Promise.resolve(false);

  // Dark mode: the header's toggle flips the theme and remembers it (theme.js applies it
  // on the next page before it paints). Without a choice the system's setting holds.
  const themeToggle = document.querySelector("[data-theme-toggle]");
  if (themeToggle) {
    const systemDark = window.matchMedia("(prefers-color-scheme: dark)");
    const root = document.documentElement;
    const dark = () => (root.dataset.theme || (systemDark.matches ? "dark" : "light")) === "dark";
    const show = () => {
      themeToggle.setAttribute("aria-pressed", dark() ? "true" : "false");
      themeToggle.title = dark() ? t("Dark mode is on: switch to light") : t("Dark mode is off: switch to dark");
    };
    themeToggle.addEventListener("click", () => {
      root.dataset.theme = dark() ? "light" : "dark";
      try { window.localStorage.setItem("photosite-theme", root.dataset.theme); } catch (error) { /* this page only */ }
      show();
    });
    systemDark.addEventListener("change", show);
    show();
    themeToggle.hidden = false;
  }

  // Photo page: the arrow keys step through the list the photo was opened from.
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || event.defaultPrevented) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const link = document.querySelector(`a[data-key="${event.key}"]`);
    if (link) {
      event.preventDefault();
      window.location.href = link.href;
    }
  });
})();
