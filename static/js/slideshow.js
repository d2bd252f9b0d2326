// Album slideshow: the fullscreen viewer (viewer.js) opened on the album's first photo and
// stepped to the next one every few seconds, until the last photo, a pause, or closing the
// viewer. Without scripts (or without the viewer) the button stays hidden.
(function () {
  "use strict";

  const button = document.querySelector("[data-slideshow]");
  if (!button || !window.HTMLDialogElement || !window.history.pushState) return;
  const strings = JSON.parse((document.getElementById("js-strings") || {}).textContent || "{}");
  const t = (text) => strings[text] || text;
  const interval = () => Number(button.dataset.slideshowInterval) || 4000; // milliseconds per photo
  let timer = null;
  let toggle = null; // the pause/resume button, put in the viewer's tool bar on first play

  function viewer() {
    return document.querySelector("dialog.viewer");
  }

  function pause() {
    clearInterval(timer);
    timer = null;
    if (toggle) {
      toggle.textContent = t("Resume slideshow");
      toggle.setAttribute("aria-pressed", "true");
    }
  }

  function advance() {
    const dialog = viewer();
    const next = dialog && dialog.querySelector(".viewer-step.next");
    if (!dialog || !dialog.open || !next || next.disabled || next.hidden) {
      pause(); // the last photo stays up
      return;
    }
    next.click();
  }

  function play() {
    clearInterval(timer);
    timer = setInterval(advance, interval());
    toggle.textContent = t("Pause slideshow");
    toggle.setAttribute("aria-pressed", "false");
  }

  function toggleFor(dialog) {
    const made = document.createElement("button");
    made.type = "button";
    made.className = "viewer-button";
    made.dataset.slideshowToggle = "";
    made.addEventListener("click", () => (timer ? pause() : play()));
    dialog.querySelector(".viewer-tools").prepend(made);
    dialog.addEventListener("close", () => {
      pause();
      made.hidden = true; // the viewer opened from a card later is no slideshow
    });
    return made;
  }

  button.hidden = false;
  button.addEventListener("click", () => {
    const first = document.querySelector("[data-grid] [data-viewer]");
    if (!first) return;
    first.click(); // viewer.js opens it over the page
    const dialog = viewer();
    if (!dialog || !dialog.open) return;
    toggle = toggle || toggleFor(dialog);
    toggle.hidden = false;
    play();
  });
})();
