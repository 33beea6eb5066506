/**
 * The messages not yet acknowledged by ingest, oldest first, mirrored to storage
 * after every change so that they survive reloads and offline periods. Bounded:
 * past `maxQueue` messages the oldest are dropped.
 */

import { utf8Length } from './sanitize.js';

function validMessage(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.messageId === 'string' &&
    (value.type === 'track' || value.type === 'page' || value.type === 'identify')
  );
}

export class MessageQueue {
  constructor(storage, key, maxQueue, persist) {
    this.storage = storage;
    this.key = key;
    this.maxQueue = maxQueue;
    this.persist = persist;
    const stored = storage.getJson(key, []);
    this.messages = Array.isArray(stored) ? stored.filter(validMessage) : [];
    this.trim();
  }

  get length() {
    return this.messages.length;
  }

  /** Appends `message`; returns how many old messages were dropped to make room. */
  push(message) {
    this.messages.push(message);
    const dropped = this.trim();
    this.save();
    return dropped;
  }

  /**
   * The oldest messages whose ids are not in `exclude`, each with its JSON text,
   * at most `maxMessages` of them and `maxBytes` of text together (at least one).
   */
  take(exclude, maxMessages, maxBytes) {
    const batch = [];
    let bytes = 0;
    for (const message of this.messages) {
      if (batch.length >= maxMessages) break;
      if (exclude.has(message.messageId)) continue;
      const text = JSON.stringify(message);
      const size = utf8Length(text) + 1;
      if (batch.length > 0 && bytes + size > maxBytes) break;
      batch.push({ message, text });
      bytes += size;
    }
    return batch;
  }

  pendingCount(exclude) {
    let count = 0;
    for (const message of this.messages) {
      if (!exclude.has(message.messageId)) count += 1;
    }
    return count;
  }

  /** Removes the messages with these ids (delivered, or given up on). */
  remove(ids) {
    const before = this.messages.length;
    this.messages = this.messages.filter((message) => !ids.has(message.messageId));
    if (this.messages.length !== before) this.save();
  }

  clear() {
    this.messages = [];
    this.storage.remove(this.key);
  }

  /** Analytics consent given or withdrawn: whether the queue may live in storage. */
  setPersist(persist) {
    this.persist = persist;
    if (persist) this.save();
    else this.storage.remove(this.key);
  }

  trim() {
    const excess = this.messages.length - this.maxQueue;
    if (excess <= 0) return 0;
    this.messages.splice(0, excess);
    return excess;
  }

  save() {
    if (!this.persist) return;
    if (this.messages.length === 0) this.storage.remove(this.key);
    else this.storage.setJson(this.key, this.messages);
  }
}
