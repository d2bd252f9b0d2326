// Fullscreen viewer: a photo over the page at the best size for the screen; zoom to full
// resolution (its largest rendition, one image pixel per screen pixel) and pan; swipe,
// the arrow keys or the side buttons to step through the grid; Escape, Back or the close
// button to leave. The address bar shows the photo's own page, so a reload or a shared
// link opens it; stepping replaces that entry, so Back returns to the grid.
// Triggers are elements with data-viewer-* attributes (photo_tags.viewer_attributes):
// grid cards, which stay plain links to the photo page without this script, and the
// photo page's image.
(function () {
  "use strict";

  // The page's words for the script's own texts (templates/_js_strings.html), English if absent.
  const strings = JSON.parse((document.getElementById("js-strings") || {}).textContent || "{}");
  const t = (text, values) =>
    Object.entries(values || {}).reduce((out, [name, value]) => out.replace("{" + name + "}", value), strings[text] || text);

  if (!window.HTMLDialogElement || !window.history.pushState) return;

  const SWIPE_PX = 50; // a horizontal drag this long steps; a vertical one closes
  const TAP_PX = 6; // a drag shorter than this is a tap (zooms)
  const PAGE = Math.random().toString(36).slice(2); // this page load's history entries
  let dialog, stage, frame, placeholder, picture, avifSource, image;
  let titleLink, owner, zoomButton, previousButton, nextButton, status;
  let current = null; // the trigger shown
  let pushed = false; // whether this page load added a history entry for the viewer
  const view = { width: 0, height: 0, fitWidth: 0, fitHeight: 0, full: 1, scale: 1, x: 0, y: 0 };
  let drag = null;

  function triggers() {
    return Array.from(document.querySelectorAll("[data-viewer]"));
  }

  function pageUrl(trigger) {
    return trigger.dataset.viewerPage || trigger.href;
  }

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "viewer";
    dialog.setAttribute("aria-label", t("Photo viewer"));
    dialog.innerHTML =
      '<div class="viewer-stage">' +
      '<div class="viewer-frame"><img class="viewer-placeholder" alt="" aria-hidden="true">' +
      '<picture><source type="image/avif"><img class="viewer-image" alt=""></picture></div>' +
      "</div>" +
      '<div class="viewer-bar"><p class="viewer-caption"><a class="viewer-title"></a> ' +
      '<span class="viewer-owner"></span></p><div class="viewer-tools">' +
      '<button type="button" class="viewer-button" data-viewer-zoom aria-pressed="false">' + t("Zoom") + '</button>' +
      '<button type="button" class="viewer-button" data-viewer-close aria-label="' + t("Close") + '" title="' + t("Close (Esc)") + '">✕</button>' +
      "</div></div>" +
      '<button type="button" class="viewer-step previous" aria-label="' + t("Previous photo") + '" title="' + t("Previous (←)") + '">‹</button>' +
      '<button type="button" class="viewer-step next" aria-label="' + t("Next photo") + '" title="' + t("Next (→)") + '">›</button>' +
      '<p class="visually-hidden" aria-live="polite"></p>';
    stage = dialog.querySelector(".viewer-stage");
    frame = dialog.querySelector(".viewer-frame");
    placeholder = dialog.querySelector(".viewer-placeholder");
    picture = dialog.querySelector("picture");
    avifSource = picture.querySelector("source");
    image = dialog.querySelector(".viewer-image");
    titleLink = dialog.querySelector(".viewer-title");
    owner = dialog.querySelector(".viewer-owner");
    zoomButton = dialog.querySelector("[data-viewer-zoom]");
    previousButton = dialog.querySelector(".viewer-step.previous");
    nextButton = dialog.querySelector(".viewer-step.next");
    status = dialog.querySelector("[aria-live]");
    document.body.appendChild(dialog);

    image.addEventListener("load", () => dialog.classList.add("loaded"));
    dialog.querySelector("[data-viewer-close]").addEventListener("click", close);
    zoomButton.addEventListener("click", () => zoomTo(view.scale > 1 ? 1 : view.full));
    previousButton.addEventListener("click", () => step(-1));
    nextButton.addEventListener("click", () => step(1));
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(); }); // Escape
    // Chromium closes a dialog on a second quick Escape whatever "cancel" says: tidy up then too.
    dialog.addEventListener("close", () => {
      document.documentElement.classList.remove("viewer-open");
      const state = window.history.state;
      if (pushed && state && state.page === PAGE) {
        pushed = false;
        window.history.back();
      }
    });
    dialog.addEventListener("keydown", onKey);
    stage.addEventListener("pointerdown", onPointerDown);
    stage.addEventListener("pointermove", onPointerMove);
    stage.addEventListener("pointerup", onPointerUp);
    stage.addEventListener("pointercancel", (event) => {
      touches.delete(event.pointerId);
      if (touches.size === 0) pinch = null;
      drag = null;
      dialog.classList.remove("dragging");
    });
    stage.addEventListener("wheel", onWheel, { passive: false });
    stage.addEventListener("dblclick", (event) => event.preventDefault());
    window.addEventListener("resize", () => { if (dialog.open) { fit(); zoomTo(1); } });
  }

  // --- Showing a photo -------------------------------------------------------------

  function fit() {
    const room = stage.getBoundingClientRect();
    // The best size for the screen: as large as fits, never blown up past its pixels.
    const scale = Math.min(room.width / view.width, room.height / view.height, 1);
    view.fitWidth = Math.round(view.width * scale);
    view.fitHeight = Math.round(view.height * scale);
    view.full = view.width / view.fitWidth; // 1 when it already shows at full resolution
    frame.style.width = view.fitWidth + "px";
    frame.style.height = view.fitHeight + "px";
    zoomButton.disabled = view.full < 1.05;
    image.sizes = (view.scale > 1 ? view.width : view.fitWidth) + "px";
    if (avifSource.isConnected) avifSource.sizes = image.sizes;
  }

  function show(trigger) {
    current = trigger;
    const data = trigger.dataset;
    view.width = Number(data.viewerWidth);
    view.height = Number(data.viewerHeight);
    view.scale = 1; view.x = 0; view.y = 0;
    dialog.classList.remove("loaded", "zoomed");
    const thumbnail = trigger.querySelector("img");
    placeholder.src = thumbnail ? thumbnail.currentSrc || thumbnail.src : "";
    // A new <img> per photo: the old one's pixels never show under the new title.
    const fresh = image.cloneNode(false);
    fresh.removeAttribute("src");
    fresh.removeAttribute("srcset");
    fresh.addEventListener("load", () => dialog.classList.add("loaded"));
    image.replaceWith(fresh);
    image = fresh;
    if (data.viewerAvif) {
      avifSource.srcset = data.viewerAvif;
      picture.insertBefore(avifSource, image);
    } else {
      avifSource.remove();
    }
    image.alt = thumbnail ? thumbnail.alt : data.viewerTitle;
    // Straight to the middle, not sliding back from where a swipe left the last photo.
    frame.style.transition = "none";
    frame.style.transform = "";
    void frame.offsetWidth; // apply that before the transition comes back
    frame.style.transition = "";
    fit();
    image.srcset = data.viewerSrcset;
    titleLink.textContent = data.viewerTitle;
    titleLink.href = pageUrl(trigger).split("#")[0];
    owner.textContent = data.viewerOwner ? t("by {name}", { name: data.viewerOwner }) : "";
    zoomButton.setAttribute("aria-pressed", "false");
    zoomButton.textContent = t("Zoom");
    const list = triggers();
    const index = list.indexOf(trigger);
    const moreToLoad = Boolean(document.querySelector("a[data-more]"));
    previousButton.disabled = index <= 0;
    nextButton.disabled = index < 0 || (index >= list.length - 1 && !moreToLoad);
    previousButton.hidden = nextButton.hidden = list.length < 2;
    status.textContent = data.viewerTitle;
    preload(list[index + 1]);
    preload(list[index - 1]);
  }

  function preload(trigger) {
    if (!trigger) return;
    const next = new Image();
    next.sizes = Math.round(Math.min(view.fitWidth, stage.clientWidth)) + "px";
    next.srcset = trigger.dataset.viewerSrcset;
  }

  // --- Zoom and pan ----------------------------------------------------------------

  function clampPan() {
    const room = stage.getBoundingClientRect();
    const spareX = Math.max(0, (view.fitWidth * view.scale - room.width) / 2);
    const spareY = Math.max(0, (view.fitHeight * view.scale - room.height) / 2);
    view.x = Math.min(spareX, Math.max(-spareX, view.x));
    view.y = Math.min(spareY, Math.max(-spareY, view.y));
  }

  function render() {
    frame.style.transform = view.scale > 1 ? `translate(${view.x}px, ${view.y}px) scale(${view.scale})` : "";
    dialog.classList.toggle("zoomed", view.scale > 1);
  }

  // Zoom to `scale` (1: fitted; view.full: full resolution), keeping the point under
  // (clientX, clientY), or the middle, where it is.
  function zoomTo(scale, clientX, clientY) {
    scale = Math.max(1, Math.min(view.full, scale));
    if (scale === view.scale) return;
    const box = stage.getBoundingClientRect();
    const pointX = (clientX === undefined ? box.left + box.width / 2 : clientX) - (box.left + box.width / 2);
    const pointY = (clientY === undefined ? box.top + box.height / 2 : clientY) - (box.top + box.height / 2);
    // The image point under the pointer, then where it lands at the new scale.
    const imageX = (pointX - view.x) / view.scale;
    const imageY = (pointY - view.y) / view.scale;
    view.scale = scale;
    view.x = pointX - imageX * scale;
    view.y = pointY - imageY * scale;
    if (scale > 1) {
      image.sizes = view.width + "px"; // fetch the largest rendition
      if (avifSource.isConnected) avifSource.sizes = image.sizes;
    } else {
      view.x = view.y = 0;
    }
    clampPan();
    render();
    const zoomed = view.scale > 1;
    zoomButton.setAttribute("aria-pressed", zoomed ? "true" : "false");
    zoomButton.textContent = zoomed ? t("Fit") : t("Zoom");
    status.textContent = zoomed ? t("Zoomed to full size; drag to look around.") : "";
  }

  // Two fingers pinch: the scale follows the distance between them, about their midpoint.
  // Each finger is tracked by pointer id; while two are down there is no pan, tap or swipe.
  const touches = new Map();
  let pinch = null;

  function pinchSpan() {
    const [a, b] = [...touches.values()];
    return { distance: Math.hypot(a.x - b.x, a.y - b.y), x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }

  function onPointerDown(event) {
    if (event.button !== 0) return;
    if (event.pointerType === "touch") {
      touches.set(event.pointerId, { x: event.clientX, y: event.clientY });
      if (touches.size === 2) {
        drag = null;
        frame.style.transform = "";
        dialog.classList.remove("dragging");
        pinch = { distance: pinchSpan().distance || 1, scale: view.scale };
        stage.setPointerCapture(event.pointerId);
        return;
      }
      if (pinch) return;
    }
    // Where it went down: with the pointer captured, later events name the stage instead.
    const onImage = frame.contains(event.target);
    drag = { id: event.pointerId, x: event.clientX, y: event.clientY, panX: view.x, panY: view.y, moved: false, onImage };
    stage.setPointerCapture(event.pointerId);
  }

  function onPointerMove(event) {
    if (touches.has(event.pointerId)) touches.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pinch && touches.size === 2) {
      const span = pinchSpan();
      zoomTo(pinch.scale * (span.distance / pinch.distance), span.x, span.y);
      return;
    }
    if (!drag || drag.id !== event.pointerId) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < TAP_PX) return;
    drag.moved = true;
    if (view.scale > 1) {
      dialog.classList.add("dragging");
      view.x = drag.panX + dx;
      view.y = drag.panY + dy;
      clampPan();
      render();
    } else {
      frame.style.transform = `translateX(${dx}px)`; // follows the finger until it lets go
      dialog.classList.add("dragging");
    }
  }

  function onPointerUp(event) {
    touches.delete(event.pointerId);
    if (pinch) {
      if (touches.size === 0) pinch = null; // the last finger up ends it (no tap, no swipe)
      return;
    }
    if (!drag || drag.id !== event.pointerId) return;
    const { moved, onImage } = drag;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    drag = null;
    dialog.classList.remove("dragging");
    if (!moved) {
      if (onImage) zoomTo(view.scale > 1 ? 1 : view.full, event.clientX, event.clientY);
      return;
    }
    if (view.scale > 1) return; // that was a pan
    render();
    if (Math.abs(dx) >= SWIPE_PX && Math.abs(dx) > Math.abs(dy)) step(dx < 0 ? 1 : -1);
    else if (dy >= SWIPE_PX * 2 && dy > Math.abs(dx)) close();
  }

  function onWheel(event) {
    event.preventDefault();
    if (event.ctrlKey) { // a pinch on a touchpad, or ctrl + wheel
      zoomTo(event.deltaY < 0 ? view.full : 1, event.clientX, event.clientY);
    } else if (view.scale > 1) {
      view.x -= event.deltaX;
      view.y -= event.deltaY;
      clampPan();
      render();
    }
  }

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const keys = {
      ArrowLeft: () => step(-1),
      ArrowRight: () => step(1),
      "+": () => zoomTo(view.full),
      "=": () => zoomTo(view.full),
      "-": () => zoomTo(1),
    };
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault(); // and the page's own arrow-key stepping (site.js) stays out
    event.stopPropagation();
    action();
  }

  // --- Opening, stepping, closing --------------------------------------------------

  function open(trigger, { push = true } = {}) {
    if (!dialog) build();
    if (!dialog.open) {
      dialog.showModal();
      document.documentElement.classList.add("viewer-open");
    }
    show(trigger);
    const url = pageUrl(trigger);
    if (push) {
      window.history.pushState({ viewer: url, page: PAGE }, "", url);
      pushed = true;
    }
    dialog.querySelector("[data-viewer-close]").focus({ preventScroll: true });
  }

  async function step(delta) {
    let list = triggers();
    const index = list.indexOf(current);
    if (index < 0) return;
    if (index + delta >= list.length && window.photositeLoadMore) {
      nextButton.disabled = true;
      await window.photositeLoadMore();
      list = triggers();
    }
    const target = list[index + delta];
    if (!target || !dialog.open) return;
    show(target);
    if (pushed) window.history.replaceState({ viewer: pageUrl(target), page: PAGE }, "", pageUrl(target));
  }

  function close() {
    const state = window.history.state;
    if (pushed && state && state.page === PAGE) {
      window.history.back(); // popstate below closes it
      return;
    }
    if (window.location.hash === "#view") {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    finish();
  }

  function finish() {
    pushed = false;
    dialog.close();
    document.documentElement.classList.remove("viewer-open");
    if (current && current.isConnected) {
      current.focus({ preventScroll: true });
      current.scrollIntoView({ block: "nearest" });
    }
  }

  window.addEventListener("popstate", (event) => {
    const state = event.state;
    const ours = state && state.viewer && state.page === PAGE;
    if (dialog && dialog.open && !ours) {
      finish();
    } else if (ours && !(dialog && dialog.open)) { // Forward, back into the viewer
      const trigger = triggers().find((candidate) => pageUrl(candidate) === state.viewer);
      if (trigger) { pushed = true; open(trigger, { push: false }); }
    }
  });

  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab, as a link does
    const trigger = event.target.closest && event.target.closest("[data-viewer]");
    if (!trigger) return;
    event.preventDefault();
    open(trigger);
  });

  // A photo page opened with #view (a reload in the viewer) shows its photo in the viewer.
  if (window.location.hash === "#view") {
    const trigger = document.querySelector("[data-viewer][data-viewer-page]");
    if (trigger) open(trigger, { push: false });
  }
})();
