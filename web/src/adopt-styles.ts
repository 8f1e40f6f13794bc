/**
 * xterm.js writes each terminal's CSS (cell sizes, colours) into <style> elements it creates, and the page's
 * Content-Security-Policy (`style-src 'self'`, no inline styles) rightly keeps the browser from applying them. So
 * the elements it asks for are inert ones (`<xterm-style>`, hidden by style.css) whose text this copies into
 * constructable stylesheets (CSSOM, which the policy allows), following every change. The policy stays strict and
 * nothing is refused (or logged) on the way.
 */
const INERT_STYLE_TAG = 'xterm-style';

export function adoptInlineStyles(root: Node): void {
  const createElement = Document.prototype.createElement;
  Document.prototype.createElement = function (this: Document, tag: string, options?: ElementCreationOptions): HTMLElement {
    return createElement.call(this, tag.toLowerCase() === 'style' ? INERT_STYLE_TAG : tag, options);
  } as Document['createElement'];

  const sheets = new Map<Element, CSSStyleSheet>();
  const isInert = (n: Node | null): n is Element => n instanceof Element && n.localName === INERT_STYLE_TAG;
  const sync = (el: Element): void => {
    let sheet = sheets.get(el);
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheets.set(el, sheet);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }
    sheet.replaceSync(el.textContent ?? '');
  };
  const drop = (el: Element): void => {
    const sheet = sheets.get(el);
    if (!sheet || el.isConnected) return;
    sheets.delete(el);
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  };
  const each = (node: Node, fn: (el: Element) => void): void => {
    if (isInert(node)) fn(node);
    else if (node instanceof Element) node.querySelectorAll(INERT_STYLE_TAG).forEach(fn);
  };
  new MutationObserver((records) => {
    for (const r of records) {
      r.addedNodes.forEach((n) => each(n, sync));
      r.removedNodes.forEach((n) => each(n, drop));
      const owner = isInert(r.target) ? r.target : isInert(r.target.parentNode) ? r.target.parentNode : null;
      if (owner?.isConnected) sync(owner);
    }
  }).observe(root, { childList: true, subtree: true, characterData: true });
}

/**
 * xterm.js also colours cells (256 and true colours) with `setAttribute('style', …)`, which the policy blocks as an
 * inline style; the same declarations set through the CSSOM (`style.cssText`) are allowed. Inline `style` attributes
 * in markup stay blocked: only this page's own script goes through here.
 */
export function styleAttributesThroughCssom(): void {
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (this: Element, name: string, value: string): void {
    if (name.toLowerCase() === 'style' && (this instanceof HTMLElement || this instanceof SVGElement)) this.style.cssText = value;
    else setAttribute.call(this, name, value);
  };
}
