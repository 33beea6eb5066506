/** Module resolution hook: `import ... from 'react'` loads ./fake-react.js. */

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'react') {
    return { url: new URL('./fake-react.js', import.meta.url).href, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
