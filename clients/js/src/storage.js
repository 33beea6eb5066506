/**
 * Storage that never throws: every write goes to the host's storage
 * (localStorage by default) and to a copy in memory, so a full quota, a
 * disabled storage or a value that is not JSON only costs persistence across
 * page loads, never the current page's tracking.
 */

export class SafeStorage {
  constructor(backend) {
    this.backend = backend || null;
    this.memory = new Map();
    // Keys whose last write the backend refused: memory holds their true value.
    this.unsaved = new Set();
  }

  /** The value; read from the backend first so that other tabs' writes are seen. */
  get(key) {
    if (!this.unsaved.has(key)) {
      try {
        const value = this.backend.getItem(key);
        return typeof value === 'string' ? value : null;
      } catch (error) {
        // Unreadable storage: fall back to this page's copy.
      }
    }
    return this.memory.has(key) ? this.memory.get(key) : null;
  }

  /** Stores `value`; false when only the memory copy could be written. */
  set(key, value) {
    this.memory.set(key, value);
    try {
      this.backend.setItem(key, value);
      this.unsaved.delete(key);
      return true;
    } catch (error) {
      this.unsaved.add(key);
      return false;
    }
  }

  remove(key) {
    this.memory.delete(key);
    this.unsaved.delete(key);
    try {
      this.backend.removeItem(key);
    } catch (error) {
      // Gone from memory; the stored copy is unreachable anyway.
    }
  }

  /** The stored JSON value, or `fallback` when absent or unreadable. */
  getJson(key, fallback) {
    const text = this.get(key);
    if (text === null) return fallback;
    try {
      return JSON.parse(text);
    } catch (error) {
      return fallback;
    }
  }

  /** Stores `value` as JSON; false when it could not be persisted. */
  setJson(key, value) {
    let text;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      return false;
    }
    return this.set(key, text);
  }
}
