// The sandbox's JavaScript-rendered shop: the HTML is empty until this script fetches JSON.
// It builds the DOM with textContent only, as a careful real site would.
(function () {
  const app = document.getElementById("app");
  const view = app.dataset.view, arg = app.dataset.arg;
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function renderSearch(data) {
    const list = el("div", "goods-list");
    data.items.forEach(function (it) {
      const card = el("div", "goods-card");
      card.dataset.id = it.id;
      const a = el("a", "goods-name", it.title);
      a.href = it.url;
      card.append(a, el("em", "goods-price", "¥" + it.price), el("span", "goods-shop", it.shop.name));
      list.append(card);
    });
    app.append(list);
    if (data.next) { const n = el("a", "load-more", "加载更多"); n.href = data.next; app.append(n); }
    app.dataset.ready = "1";
  }
  function renderItem(d) {
    const box = el("div", "goods-detail");
    box.dataset.id = d.id;
    box.append(el("h1", "goods-title", d.title));
    const price = el("div", "goods-price");
    price.append(el("i", "cur", "¥"), el("strong", "num", d.price), el("span", "unit", "/" + d.unit));
    box.append(price);
    const shop = el("a", "goods-shop", d.shop.name);
    shop.href = d.shop.url; shop.dataset.shopId = d.shop.id;
    box.append(shop, el("span", "goods-loc", d.shop.province + " " + d.shop.city));
    const cat = el("span", "goods-cat", d.category_zh); cat.dataset.slug = d.category; box.append(cat);
    const specs = el("dl", "goods-specs");
    d.specs.forEach(function (kv) { specs.append(el("dt", null, kv[0]), el("dd", null, kv[1])); });
    box.append(specs);
    app.append(box);
    app.dataset.ready = "1";
  }
  const api = view === "search" ? "/c/api/search" + location.search : "/c/api/item/" + arg;
  fetch(api).then(function (r) {
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }).then(view === "search" ? renderSearch : renderItem).catch(function (e) {
    app.dataset.error = String(e);
    app.textContent = "加载失败";
  });
})();
