// escapelint HTML report: sortable tables, filters by category and text. No dependencies, no network.
(function () {
  "use strict";

  function sortTable(table, th) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var column = headers.indexOf(th);
    var numeric = th.getAttribute("data-type") === "num";
    var descending = th.getAttribute("aria-sort") !== "descending";
    if (!numeric && th.getAttribute("aria-sort") === "none") descending = false;
    headers.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var key = function (row) {
      var cell = row.cells[column];
      var value = cell.getAttribute("data-sort");
      if (value === null) value = cell.textContent;
      return numeric ? parseFloat(value) || 0 : value.toLowerCase();
    };
    var keyed = rows.map(function (row, i) { return [key(row), i, row]; });
    keyed.sort(function (a, b) {
      if (a[0] < b[0]) return descending ? 1 : -1;
      if (a[0] > b[0]) return descending ? -1 : 1;
      return a[1] - b[1];
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (k) { fragment.appendChild(k[2]); });
    body.appendChild(fragment);
  }

  function setUpSorting() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.tHead.querySelectorAll("th").forEach(function (th) {
        var button = th.querySelector("button") || th;
        button.addEventListener("click", function () { sortTable(table, th); });
      });
    });
  }

  function setUpPackageFilters() {
    var input = document.getElementById("filter-text");
    var shown = document.getElementById("shown");
    var toggles = Array.prototype.slice.call(document.querySelectorAll(".toggle[data-cat]"));
    var sites = Array.prototype.slice.call(document.querySelectorAll("article.site"));
    var sections = Array.prototype.slice.call(document.querySelectorAll("section.fn"));
    var texts = null;
    function apply() {
      var off = {};
      toggles.forEach(function (t) { if (t.getAttribute("aria-pressed") === "false") off[t.getAttribute("data-cat")] = true; });
      var query = input ? input.value.trim().toLowerCase() : "";
      if (query && texts === null) texts = sites.map(function (s) { return s.textContent.toLowerCase(); });
      var visible = 0;
      sites.forEach(function (site, i) {
        var ok = !off[site.getAttribute("data-cat")] && (!query || texts[i].indexOf(query) >= 0);
        site.classList.toggle("hidden", !ok);
        if (ok) visible++;
      });
      var filtering = query !== "" || Object.keys(off).length > 0;
      sections.forEach(function (section) {
        var any = section.querySelector("article.site:not(.hidden)") !== null;
        var name = section.querySelector("h2").textContent.toLowerCase();
        var keep = !filtering || any || (query !== "" && name.indexOf(query) >= 0 && Object.keys(off).length === 0);
        section.classList.toggle("hidden", !keep);
        var entry = document.querySelector('nav.toc li[data-fn="' + section.id + '"]');
        if (entry) entry.classList.toggle("hidden", !keep);
        section.querySelectorAll(".inlined").forEach(function (group) {
          group.classList.toggle("hidden", filtering && group.querySelector("article.site:not(.hidden)") === null);
        });
      });
      if (shown) shown.textContent = visible.toLocaleString("en") + " of " + sites.length.toLocaleString("en") + " shown";
    }
    toggles.forEach(function (t) {
      t.addEventListener("click", function (event) {
        if (event.altKey || event.metaKey) {
          // Alt-click: show only this category (again: show all).
          var only = toggles.every(function (o) { return (o === t) === (o.getAttribute("aria-pressed") === "true"); });
          toggles.forEach(function (o) { o.setAttribute("aria-pressed", only || o === t ? "true" : "false"); });
        } else {
          t.setAttribute("aria-pressed", t.getAttribute("aria-pressed") === "true" ? "false" : "true");
        }
        apply();
      });
    });
    if (input) input.addEventListener("input", apply);
  }

  function setUpIndexFilter() {
    var input = document.getElementById("filter-text");
    var shown = document.getElementById("shown");
    var table = document.getElementById("packages");
    if (!input || !table) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    input.addEventListener("input", function () {
      var query = input.value.trim().toLowerCase();
      var visible = 0;
      rows.forEach(function (row) {
        var ok = !query || row.cells[0].textContent.toLowerCase().indexOf(query) >= 0;
        row.classList.toggle("hidden", !ok);
        if (ok) visible++;
      });
      if (shown) shown.textContent = visible.toLocaleString("en") + " of " + rows.length.toLocaleString("en") + " shown";
    });
  }

  function setUpKeys() {
    document.addEventListener("keydown", function (event) {
      var input = document.getElementById("filter-text");
      if (event.key === "/" && input && document.activeElement !== input) {
        event.preventDefault();
        input.focus();
      } else if (event.key === "Escape" && document.activeElement === input) {
        input.value = "";
        input.dispatchEvent(new Event("input"));
        input.blur();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpSorting();
    if (document.body.classList.contains("package-page")) setUpPackageFilters();
    if (document.body.classList.contains("index-page")) setUpIndexFilter();
    setUpKeys();
    document.documentElement.setAttribute("data-ready", "true");
  });
})();
