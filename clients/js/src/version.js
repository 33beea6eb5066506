/** The library's name and version, sent in every message's `context.library`. */

export const LIBRARY_NAME = '@lookout/tracker';
export const VERSION = '0.1.0';
