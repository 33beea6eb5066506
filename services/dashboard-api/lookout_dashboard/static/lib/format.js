// Building DOM nodes and formatting numbers, dates and sizes the way every tab shows them.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const number = new Intl.NumberFormat();
const DECIMAL_POINT = number.formatToParts(1.5).find((part) => part.type === 'decimal').value;
const signed = (value, digits, unit) => `${value < 0 ? '−' : '+'}${Math.abs(value).toFixed(digits)} ${unit}`;
const missing = (value) => value === null || value === undefined;

export const fmt = {
  int: (value) => (missing(value) ? '–' : number.format(value)),
  pct: (value) => (missing(value) ? '–' : `${value.toFixed(2)} %`),
  ms: (value) => (missing(value) ? '–' : `${value.toFixed(1)} ms`),
  time: (value) => (value ? new Date(value).toLocaleString() : '–'),
  // A fraction (0.25) as a percentage.
  fraction: (value) => (missing(value) ? '–' : `${(value * 100).toFixed(1)} %`),
  // An exact decimal string ("1234.50"), grouped like other numbers, never rounded.
  decimal: (value) => {
    const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(value));
    if (!match) return String(value);
    return `${match[1]}${number.format(BigInt(match[2]))}${match[3] ? DECIMAL_POINT + match[3] : ''}`;
  },
  // A difference of two fractions, in percentage points; a relative change in %.
  points: (value) => (missing(value) ? '–' : signed(value * 100, 2, 'pp')),
  relative: (value) => (missing(value) ? '–' : signed(value * 100, 1, '%')),
  p: (value) => {
    if (missing(value)) return '–';
    return value < 0.0001 ? '< 0.0001' : value.toFixed(4);
  },
  seconds: (value) => {
    if (missing(value)) return '–';
    if (value < 10) return `${value.toFixed(1)} s`;
    if (value < 90) return `${Math.round(value)} s`;
    if (value < 3600) return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
    if (value < 86400) return `${Math.floor(value / 3600)} h ${Math.round((value % 3600) / 60)} min`;
    return `${Math.floor(value / 86400)} d ${Math.round((value % 86400) / 3600)} h`;
  },
  bytes: (value) => {
    if (!value) return '0 B';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    const power = Math.min(Math.floor(Math.log(value) / Math.log(1024)), units.length - 1);
    return `${(value / 1024 ** power).toFixed(power ? 1 : 0)} ${units[power]}`;
  },
  duration: (seconds) => {
    if (missing(seconds)) return 'ongoing';
    if (seconds < 90) return `${Math.round(seconds)} s`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  },
};

export function badge(status) {
  return el('span', { class: `badge ${status}`, text: status });
}

export function cell(text, cls) {
  return el('td', { class: cls, text: text === undefined || text === null ? '–' : String(text) });
}

export function fillTable(table, rows, empty = 'Nothing yet.') {
  const columns = table.tHead.rows[0].cells.length;
  table.tBodies[0].replaceChildren(...(rows.length ? rows
    : [el('tr', { class: 'empty' }, el('td', { colspan: columns, class: 'muted', text: empty }))]));
}

// A table whose data could not be read: one row saying why, across every column.
export function tableError(table, error) {
  const columns = table.tHead.rows[0].cells.length;
  table.tBodies[0].replaceChildren(el('tr', {},
    el('td', { colspan: columns, class: 'error', text: `Could not load: ${error.message}` })));
}

// "" is what a client sends when it has no value for a dimension.
export function notSent(value) {
  return value === '' ? '(not sent)' : value;
}

// "2024-06-10" as that calendar day (not as UTC midnight, which may be the day before).
export function calendarDay(text) {
  const [year, month, day] = text.split('-').map(Number);
  return new Date(year, month - 1, day);
}

// Plotly reads a little HTML in labels; data goes in as text only.
export function plotText(value) {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
