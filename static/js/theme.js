// Dark or light as the person last chose with the header's toggle (site.js), applied
// before the page paints; with no choice the stylesheet follows prefers-color-scheme.
// Loaded without defer, in <head>: a deferred script would flash the other theme.
(function () {
  "use strict";
  try {
    const chosen = window.localStorage.getItem("photosite-theme");
    if (chosen === "dark" || chosen === "light") document.documentElement.dataset.theme = chosen;
  } catch (error) { /* storage blocked: follow the system */ }
})();
