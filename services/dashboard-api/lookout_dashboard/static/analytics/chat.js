// Chat: chats started, messages, messages per chat.

import { fmt } from '../lib/format.js';
import { rangeQuery, stale } from './range.js';

export async function load(view, range) {
  const { $ } = view;
  const chat = await view.api(`/api/v1/analytics/chat?${rangeQuery(range, { granularity: range.granularity })}`);
  if (stale(view, range)) return;
  $('ch-chats').textContent = fmt.int(chat.chats);
  $('ch-messages').textContent = fmt.int(chat.messages);
  $('ch-per-session').textContent = chat.chats ? chat.messagesPerSession.toFixed(2) : '–';
}
