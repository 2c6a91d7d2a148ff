// escapelint HTML report: sorting, filters, search, keyboard shortcuts. No dependencies, no network.
(function () {
  "use strict";

  var all = function (selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); };
  var body = function () { return document.body; };
  var isPage = function (name) { return body().classList.contains(name); };

  // --- State in the URL: "#!q=text&off=cat1,cat2&sort=name" (an ordinary "#anchor" is left alone) ---

  function readState() {
    var state = {};
    if (location.hash.indexOf("#!") !== 0) return state;
    location.hash.slice(2).split("&").forEach(function (pair) {
      var cut = pair.indexOf("=");
      if (cut > 0) state[decodeURIComponent(pair.slice(0, cut))] = decodeURIComponent(pair.slice(cut + 1));
    });
    return state;
  }

  function writeState(state) {
    var parts = Object.keys(state).filter(function (k) { return state[k] !== "" && state[k] !== undefined; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(state[k]); });
    var url = location.pathname + location.search + (parts.length ? "#!" + parts.join("&") : "");
    if (parts.length || location.hash.indexOf("#!") === 0) history.replaceState(null, "", url);
  }

  var state = {};
  function setState(key, value) {
    state[key] = value;
    writeState(state);
  }

  // --- Tables (index) ---

  function sortTable(table, th, descending) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var column = headers.indexOf(th);
    var numeric = th.getAttribute("data-type") === "num";
    if (descending === undefined) {
      descending = th.getAttribute("aria-sort") !== "descending";
      if (!numeric && th.getAttribute("aria-sort") === "none") descending = false;
    }
    headers.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
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
    table.tBodies[0].appendChild(fragment);
    return column + ":" + (descending ? "d" : "a");
  }

  function setUpSorting() {
    all("table.sortable").forEach(function (table) {
      var headers = all("th", table.tHead);
      headers.forEach(function (th) {
        var button = th.querySelector("button") || th;
        button.addEventListener("click", function () { setState("sort", sortTable(table, th)); });
      });
      var saved = /^(\d+):([ad])$/.exec(state.sort || "");
      if (saved && headers[+saved[1]]) sortTable(table, headers[+saved[1]], saved[2] === "d");
    });
  }

  // --- Package page: category toggles and text filter ---

  function setUpPackageFilters() {
    var input = document.getElementById("filter-text");
    var shown = document.getElementById("shown");
    var toggles = all(".toggle[data-cat]");
    var sections = all("details.fn");
    var sites = null;
    var texts = null;
    function apply() {
      var off = {};
      toggles.forEach(function (t) { if (t.getAttribute("aria-pressed") === "false") off[t.getAttribute("data-cat")] = true; });
      var query = input ? input.value.trim().toLowerCase() : "";
      if (sites === null) {
        materializeAll();  // a filter looks at every site
        sites = all("article.site");
      }
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
        var entry = document.querySelector('#toc li[data-fn="' + section.id + '"]');
        if (entry) entry.classList.toggle("hidden", !keep);
        all(".inlined", section).forEach(function (group) {
          group.classList.toggle("hidden", filtering && group.querySelector("article.site:not(.hidden)") === null);
        });
      });
      if (shown) shown.textContent = visible.toLocaleString("en") + " of " + sites.length.toLocaleString("en") + " shown";
      setState("q", query);
      setState("off", Object.keys(off).join(","));
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
    // Restore what the URL says.
    var off = (state.off || "").split(",").filter(Boolean);
    toggles.forEach(function (t) { if (off.indexOf(t.getAttribute("data-cat")) >= 0) t.setAttribute("aria-pressed", "false"); });
    if (input && state.q) input.value = state.q;
    if (off.length || state.q) apply();
  }

  // --- Package page: function sections sorted and folded ---

  function sortFunctions(button) {
    var key = button.getAttribute("data-sort");
    var numeric = button.getAttribute("data-type") === "num";
    var descending = button.getAttribute("data-dir") === "desc";
    all("#fn-sort button").forEach(function (b) { b.setAttribute("aria-pressed", b === button ? "true" : "false"); });
    [document.getElementById("functions"), document.getElementById("toc")].forEach(function (list) {
      if (!list) return;
      var items = Array.prototype.slice.call(list.children).filter(function (e) { return e.hasAttribute("data-" + key); });
      var value = function (e) {
        var v = e.getAttribute("data-" + key);
        return numeric ? parseFloat(v) || 0 : v.toLowerCase();
      };
      var keyed = items.map(function (e) { return [value(e), parseFloat(e.getAttribute("data-order")) || 0, e]; });
      keyed.sort(function (a, b) {
        if (a[0] < b[0]) return descending ? 1 : -1;
        if (a[0] > b[0]) return descending ? -1 : 1;
        return a[1] - b[1];
      });
      var fragment = document.createDocumentFragment();
      keyed.forEach(function (k) { fragment.appendChild(k[2]); });
      list.appendChild(fragment);
    });
  }

  function setUpFunctionTools() {
    var buttons = all("#fn-sort button");
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        sortFunctions(button);
        setState("sort", button === buttons[0] ? "" : button.getAttribute("data-sort"));
      });
    });
    var saved = buttons.filter(function (b) { return b.getAttribute("data-sort") === state.sort; })[0];
    if (saved) sortFunctions(saved);
    all("button.fold").forEach(function (button) {
      button.addEventListener("click", function () {
        var open = button.getAttribute("data-fold") === "open";
        all("details.fn").forEach(function (d) { d.open = open; });
      });
    });
  }

  // --- The sticky filter panel: anchors land below it ---

  function setUpStickyOffset() {
    var panel = document.querySelector(".package-page .filters");
    if (!panel) return;
    var update = function () { document.documentElement.style.setProperty("--sticky", panel.offsetHeight + "px"); };
    update();
    if (window.ResizeObserver) new ResizeObserver(update).observe(panel);
  }

  // A link to a site in a collapsed function, or to a line of a source view, opens what holds it.
  function revealTarget() {
    if (!location.hash || location.hash.indexOf("#!") === 0) return;
    var id = decodeURIComponent(location.hash.slice(1));
    var target = document.getElementById(id);
    if (!target && document.querySelector("details.fn[data-lazy]")) {
      materializeAll();  // a site in a section not drawn yet
      target = document.getElementById(id);
    }
    if (!target) return;
    for (var node = target.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    if (target.tagName === "DETAILS" && target.classList.contains("line")) {
      materializeLine(target);
      target.open = true;
    }
    target.scrollIntoView({ block: "start" });
    keepInView(target);
  }

  // Sections above the target are laid out only when first drawn (content-visibility), so their real
  // height can move the target after the jump, under the sticky panel or off the screen. For the next
  // frames (about half a second), until the reader scrolls, clicks or types, the jump is made again
  // whenever the target has moved out of the window's free part.
  function keepInView(target) {
    var moved = false, frames = 0;
    var stop = function () { moved = true; };
    ["wheel", "touchstart", "mousedown", "keydown"].forEach(function (name) {
      window.addEventListener(name, stop, { once: true, passive: true });
    });
    var panel = document.querySelector(".package-page .filters");
    (function settle() {
      if (moved || ++frames > 30) return;
      var top = target.getBoundingClientRect().top;
      var free = panel ? panel.getBoundingClientRect().bottom : 0;
      if (top < free - 1 || top >= window.innerHeight) target.scrollIntoView({ block: "start" });
      requestAnimationFrame(settle);
    })();
  }

  // --- Function sections left out of a long page, put in place from data_<stem>.js when needed ---

  function materialize(section) {
    if (!section.hasAttribute("data-lazy")) return;
    section.removeAttribute("data-lazy");
    var html = window.ESCAPELINT_SECTIONS && window.ESCAPELINT_SECTIONS[section.id];
    if (html) section.insertAdjacentHTML("beforeend", html);  // escapelint's own escaped HTML
  }

  function materializeLine(line) {
    if (!line.hasAttribute("data-lazy")) return;
    line.removeAttribute("data-lazy");
    var html = window.ESCAPELINT_LINES && window.ESCAPELINT_LINES[line.id];
    var holder = line.querySelector(".line-sites");
    if (html && holder) holder.insertAdjacentHTML("beforeend", html);  // escapelint's own escaped HTML
  }

  function materializeAll() {
    all("details.fn[data-lazy]").forEach(materialize);
    all("details.line[data-lazy]").forEach(materializeLine);
  }

  function setUpLazySections() {
    document.addEventListener("click", function (event) {
      var summary = event.target.closest && event.target.closest("details.fn > summary, details.line > summary");
      if (summary) (summary.parentElement.classList.contains("fn") ? materialize : materializeLine)(summary.parentElement);
    }, true);
    document.addEventListener("toggle", function (event) {
      var d = event.target;
      if (!d.open || !d.matches) return;
      if (d.matches("details.fn")) materialize(d);
      else if (d.matches("details.line")) materializeLine(d);
    }, true);
  }

  // --- Explanation chains, drawn from data_<stem>.js (window.ESCAPELINT_CHAINS) when opened ---

  // The compiler's temporaries, as report/page.py's TEMPORARY_NAME finds them: shown short, linked to the note.
  var TEMPORARY = /(?:(?:[\w.-]+\/)*[\w-]+\.)?(\.(stmp|autotmp)_\d+(?:@\d+)?)/g;

  function element(tag, className, children) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    (children || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }

  function code(text) {
    var e = element("code");
    var last = 0;
    text.replace(TEMPORARY, function (match, short, kind, offset) {
      if (offset > last) e.appendChild(document.createTextNode(text.slice(last, offset)));
      var kindName = kind === "stmp" ? "static" : "automatic";
      var link = element("a", "tmp", [short]);
      link.href = "#tmp-" + kindName;
      link.title = match + ": a " + (kindName === "static" ? "static temporary (package data, no allocation)" : "compiler temporary variable");
      e.appendChild(link);
      last = offset + match.length;
      return match;
    });
    if (last < text.length) e.appendChild(document.createTextNode(text.slice(last)));
    return e;
  }

  function drawChain(details) {
    if (details.getAttribute("data-drawn") === "true") return;
    var site = details.closest("article.site");
    var chains = window.ESCAPELINT_CHAINS && site && window.ESCAPELINT_CHAINS[site.id];
    var chain = chains && chains[+details.getAttribute("data-chain")];
    if (!chain) return;
    var hops = chain[0], omitted = chain[1], truncated = chain[2], sink = chain[3];
    var list = element("ol", "chain");
    hops.forEach(function (hop, i) {
      if (i === 0) list.appendChild(element("li", "node start", [code(hop[0]), element("span", "role", ["allocation"])]));
      hop[2].forEach(function (step) {
        list.appendChild(element("li", "step" + (step[3] ? " decisive" : ""),
          [element("span", "reason", [step[0]]), " ", code(step[1]), " ", element("span", "at", [step[2]])]));
      });
      var last = i === hops.length - 1 && !omitted;
      list.appendChild(element("li", "node" + (last ? " sink" : ""), last ? [code(hop[1]), element("span", "role", ["sink"])] : [code(hop[1])]));
    });
    if (omitted) {
      list.appendChild(element("li", "step omitted", ["… " + omitted.toLocaleString("en") + " more steps (see the JSON report)"]));
      list.appendChild(element("li", "node sink", [code(sink), element("span", "role", ["sink"])]));
    }
    details.appendChild(list);
    if (truncated) details.appendChild(element("p", "note", ["The compiler truncated this explanation (assignment cycle)."]));
    details.setAttribute("data-drawn", "true");
  }

  function setUpChains() {
    // On the click, before the details opens (so that it opens drawn), and on any other opening.
    document.addEventListener("click", function (event) {
      var summary = event.target.closest && event.target.closest("details.why > summary");
      if (summary) drawChain(summary.parentElement);
    }, true);
    document.addEventListener("toggle", function (event) {
      if (event.target.matches && event.target.matches("details.why") && event.target.open) drawChain(event.target);
    }, true);
    all("details.why[open]").forEach(drawChain);
  }

  // --- Index: search every package's sites (search-index.js, loaded when first asked) ---

  var loading = {};
  function loadData(name, global, then) {
    if (window[global]) return then(window[global]);
    if (!loading[name]) {
      loading[name] = [];
      var script = document.createElement("script");
      script.src = name;
      script.addEventListener("load", function () { loading[name].forEach(function (f) { f(window[global]); }); });
      document.head.appendChild(script);
    }
    loading[name].push(then);
  }

  var MAX_RESULTS = 200;
  function setUpSearch() {
    var input = document.getElementById("search-sites");
    var list = document.getElementById("search-results");
    var status = document.getElementById("search-status");
    if (!input || !list) return;
    var texts = null;
    function run() {
      var query = input.value.trim().toLowerCase();
      setState("s", input.value.trim());
      if (!query) { list.textContent = ""; status.textContent = ""; return; }
      loadData("search-index.js", "ESCAPELINT_SEARCH", function (data) {
        if (texts === null) {
          texts = data.sites.map(function (s) {
            return [s[2], s[3], data.packages[s[0]][0], s[4], data.categories[s[1]]].join(" ").toLowerCase();
          });
        }
        if (input.value.trim().toLowerCase() !== query) return;
        var found = [];
        for (var i = 0; i < texts.length; i++) if (texts[i].indexOf(query) >= 0) found.push(i);
        var fragment = document.createDocumentFragment();
        found.slice(0, MAX_RESULTS).forEach(function (i) {
          var s = data.sites[i];
          var category = data.categories[s[1]];
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.href = data.packages[s[0]][1] + ".html#" + s[5];
          var badge = document.createElement("span");
          badge.className = "badge cat-" + category;
          badge.textContent = category;
          var expr = document.createElement("code");
          expr.textContent = s[2];
          link.appendChild(badge);
          link.appendChild(document.createTextNode(" "));
          link.appendChild(expr);
          var where = document.createElement("span");
          where.className = "where";
          where.textContent = "in " + s[3] + " · " + data.packages[s[0]][0] + " · " + s[4];
          item.appendChild(link);
          item.appendChild(where);
          fragment.appendChild(item);
        });
        list.textContent = "";
        list.appendChild(fragment);
        status.textContent = found.length.toLocaleString("en") + " site" + (found.length === 1 ? "" : "s") +
          (found.length > MAX_RESULTS ? " (the first " + MAX_RESULTS + " shown)" : "");
      });
    }
    input.addEventListener("input", run);
    input.addEventListener("focus", function () { loadData("search-index.js", "ESCAPELINT_SEARCH", function () {}); });
    if (state.s) { input.value = state.s; run(); }
  }

  function setUpIndexFilter() {
    var input = document.getElementById("filter-text");
    var shown = document.getElementById("shown");
    var table = document.getElementById("packages");
    if (!input || !table) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    function apply() {
      var query = input.value.trim().toLowerCase();
      var visible = 0;
      rows.forEach(function (row) {
        var ok = !query || row.cells[0].textContent.toLowerCase().indexOf(query) >= 0;
        row.classList.toggle("hidden", !ok);
        if (ok) visible++;
      });
      if (shown) shown.textContent = visible.toLocaleString("en") + " of " + rows.length.toLocaleString("en") + " shown";
      setState("q", input.value.trim());
    }
    input.addEventListener("input", apply);
    if (state.q) { input.value = state.q; apply(); }
  }

  // --- Keyboard shortcuts, as coverage.py's pages have them (? shows them) ---

  function visible(element) { return element.offsetParent !== null || element.getClientRects().length > 0; }

  function items() {
    if (isPage("source-page")) return all("details.line.marked");
    materializeAll();
    return all("article.site").filter(function (s) {
      return !s.classList.contains("hidden") && !s.closest(".hidden");
    });
  }

  var current = null;
  function focusItem(element) {
    if (current) current.classList.remove("current");
    current = element;
    for (var node = element.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    element.classList.add("current");
    if (!element.hasAttribute("tabindex")) element.setAttribute("tabindex", "-1");
    element.focus({ preventScroll: true });
    element.scrollIntoView({ block: "start" });
  }

  function step(list, direction) {
    if (!list.length) return;
    if (current === null && location.hash && location.hash.indexOf("#!") !== 0) {
      current = document.getElementById(decodeURIComponent(location.hash.slice(1)));  // from the linked one
    }
    var at = list.indexOf(current);
    if (at < 0) {
      // From where the reader is: the first item below the top of the window (or above it, for k).
      var top = (parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--sticky")) || 0) + 2;
      var below = list.filter(function (e) { return e.getBoundingClientRect().top > top; });
      var target = direction > 0 ? below[0] || list[list.length - 1] : list[list.indexOf(below[0]) - 1] || list[0];
      return focusItem(target);
    }
    focusItem(list[Math.max(0, Math.min(list.length - 1, at + direction))]);
  }

  function goToPackage(direction) {
    var stem = body().getAttribute("data-stem");
    loadData("pages.js", "ESCAPELINT_PAGES", function (pages) {
      var at = pages.indexOf(stem);
      var next = at < 0 ? pages[0] : pages[at + direction];
      if (next) location.href = next + ".html";
    });
  }

  function follow(rel) {
    var link = document.querySelector('a[rel="' + rel + '"]');
    if (link) location.href = link.href;
  }

  function toggleHelp(show) {
    var help = document.getElementById("keys-help");
    if (help) help.hidden = show === undefined ? !help.hidden : !show;
  }

  function setUpKeys() {
    var button = document.getElementById("keys-button");
    if (button) button.addEventListener("click", function () { toggleHelp(); });
    document.addEventListener("keydown", function (event) {
      var input = document.getElementById("filter-text");
      var active = document.activeElement;
      var typing = active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA");
      if (event.key === "Escape") {
        toggleHelp(false);
        if (typing) {
          active.value = "";
          active.dispatchEvent(new Event("input"));
          active.blur();
        }
        return;
      }
      if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
      var key = event.key;
      var handled = true;
      if (key === "/" && input) input.focus();
      else if (key === "s" && document.getElementById("search-sites")) document.getElementById("search-sites").focus();
      else if (key === "?") toggleHelp();
      else if (key === "j") step(items(), 1);
      else if (key === "k") step(items(), -1);
      else if (key === "n" || key === "p") {
        if (isPage("source-page")) follow(key === "n" ? "next" : "prev");
        else step(all("details.fn").filter(function (f) { return !f.classList.contains("hidden"); }), key === "n" ? 1 : -1);
      } else if (key === "]" || key === "[") goToPackage(key === "]" ? 1 : -1);
      else if (key === "o" && current) {
        var details = current.tagName === "DETAILS" ? current : current.querySelector("details.why");
        if (details) {
          drawChain(details);
          details.open = !details.open;
        }
      } else if (key === "u") {
        if (isPage("source-page")) follow("up");
        else if (!isPage("index-page")) location.href = "index.html";
      } else handled = false;
      if (handled) event.preventDefault();
    });
  }

  // --- Print: every function and every chain open; closed again afterwards ---

  function setUpPrint() {
    var opened = [];
    window.addEventListener("beforeprint", function () {
      materializeAll();
      all("details.why").forEach(drawChain);
      opened = all("details:not([open])");
      opened.forEach(function (d) { d.open = true; });
    });
    window.addEventListener("afterprint", function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    state = readState();
    setUpSorting();
    if (isPage("package-page")) {
      setUpPackageFilters();
      setUpFunctionTools();
      setUpStickyOffset();
    }
    if (isPage("index-page")) {
      setUpIndexFilter();
      setUpSearch();
    }
    setUpLazySections();
    setUpChains();
    setUpKeys();
    setUpPrint();
    revealTarget();
    window.addEventListener("hashchange", revealTarget);
    document.documentElement.setAttribute("data-ready", "true");
  });
})();
