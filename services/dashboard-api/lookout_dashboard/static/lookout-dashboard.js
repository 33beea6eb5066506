// <lookout-dashboard url="https://lookout.example.com" key="lk_…">: the dashboard's four tabs
// inside a host admin page, on any origin that LOOKOUT_CORS_ORIGINS allows.
//
//   <script type="module" src="https://lookout.example.com/embed/lookout-dashboard.js"></script>
//   <lookout-dashboard url="https://lookout.example.com" key="lk_viewer_…"></lookout-dashboard>
//
// The page's markup (index.html) and stylesheet go into a shadow root, so the host's styles
// and ids never meet the dashboard's; the same tab modules as the page's run on that root.
// `url` defaults to where this module came from. Failures (a refused origin, a revoked key)
// are said in the element itself.

import { mountDashboard } from './lib/dashboard.js';

// Always run from /assets/lookout-dashboard.js (/embed/lookout-dashboard.js redirects there),
// so its imports are the page's own modules and the page's assets are its neighbours.
const ASSETS = new URL('../assets/', import.meta.url);
const UNREACHABLE = 'Could not reach the Lookout API at %s (%e). A browser refuses the API\'s answers to a page whose '
  + 'origin is not in LOOKOUT_CORS_ORIGINS: is %o listed there?';

let markup = null;
let plotly = null;

// The page's #banner and #app, once per document.
async function dashboardMarkup() {
  if (!markup) {
    markup = fetch(new URL('index.html', ASSETS)).then(async (response) => {
      if (!response.ok) throw new Error(`${response.url} answered ${response.status}`);
      return new DOMParser().parseFromString(await response.text(), 'text/html');
    });
    markup.catch(() => { markup = null; }); // a later element tries again
  }
  const page = await markup;
  return ['banner', 'app'].map((id) => document.importNode(page.getElementById(id), true));
}

// Plotly is a classic script that sets window.Plotly; charts are drawn only once it is there.
function loadPlotly() {
  if (window.Plotly) return Promise.resolve();
  if (!plotly) {
    plotly = new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = new URL('plotly.min.js', ASSETS).href;
      script.onload = resolve;
      script.onerror = () => reject(new Error(`could not load ${script.src}`));
      document.head.append(script);
    });
  }
  return plotly;
}

function explain(error, url) {
  if (error.status === 401) return 'That key is unknown or was revoked.';
  if (error.status === 403) return 'That key may not read the dashboard (it is a write key).';
  if (error instanceof TypeError) {
    return UNREACHABLE.replace('%s', url).replace('%e', error.message).replace('%o', location.origin);
  }
  return `The dashboard could not start: ${error.message}`;
}

class LookoutDashboard extends HTMLElement {
  static observedAttributes = ['url', 'key'];

  constructor() {
    super();
    this.attachShadow({ mode: 'open' });
    this.mounted = null;
    this.generation = 0;
  }

  connectedCallback() {
    this.mount();
  }

  disconnectedCallback() {
    this.unmount();
  }

  attributeChangedCallback(name, before, after) {
    if (before !== after && this.isConnected) this.mount();
  }

  unmount() {
    this.generation += 1;
    if (this.mounted) this.mounted.stop();
    this.mounted = null;
  }

  // The element's own error display: above the dashboard, or instead of it.
  showError(message, { hideDashboard = true } = {}) {
    const note = this.shadowRoot.getElementById('embed-error');
    note.textContent = message;
    note.hidden = !message;
    const app = this.shadowRoot.getElementById('app');
    if (app && hideDashboard && message) app.hidden = true;
  }

  async mount() {
    this.unmount();
    const generation = this.generation;
    const url = (this.getAttribute('url') || new URL(import.meta.url).origin).replace(/\/+$/, '');
    const key = this.getAttribute('key');
    const style = document.createElement('link');
    style.rel = 'stylesheet';
    style.href = new URL('app.css', ASSETS).href;
    const note = document.createElement('p');
    note.id = 'embed-error';
    note.className = 'error embed-error';
    note.setAttribute('role', 'alert');
    note.hidden = true;
    this.shadowRoot.replaceChildren(style, note);
    if (!key) {
      this.showError('Give the element an API key: <lookout-dashboard key="lk_viewer_…">.');
      return;
    }
    try {
      const [banner, app] = await dashboardMarkup();
      if (generation !== this.generation) return;
      app.querySelector('#signout').hidden = true; // the host page signs people in and out
      this.shadowRoot.append(banner, app);
      try {
        await loadPlotly();
      } catch (error) {
        this.showError(`Charts are not shown: ${error.message}`, { hideDashboard: false });
      }
      if (generation !== this.generation) return;
      const mounted = await mountDashboard({
        root: this.shadowRoot,
        host: this,
        url,
        key,
        ready: () => { app.hidden = false; },
        unauthorized: (reason) => {
          this.unmount();
          this.showError(reason);
        },
      });
      if (generation !== this.generation) {
        mounted.stop();
        return;
      }
      this.mounted = mounted;
    } catch (error) {
      if (generation !== this.generation) return;
      this.showError(explain(error, url));
    }
  }
}

if (!customElements.get('lookout-dashboard')) customElements.define('lookout-dashboard', LookoutDashboard);
