/**
 * Builds dist/ from src/ without a bundler (the tracker has no dependencies to
 * resolve, only its own modules):
 *   dist/lookout.js   classic script, an IIFE that sets `window.Lookout`
 *   dist/lookout.mjs  ES module exporting `init` and `VERSION`
 *   dist/react.mjs    ES module exporting `useAnalytics` (imports 'react')
 *
 * Each source module becomes a function scope returning its exports, called once
 * in dependency order. The sources keep to the subset this handles — named
 * imports and exports only (`import { a, b as c } from './x.js'`,
 * `export function|class|const|let`, `export { a }`) — and the build fails on
 * anything else rather than emitting a broken file.
 *
 * Usage: node scripts/build.mjs [outDir]   (default: dist)
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = path.join(ROOT, 'src');

const IMPORT = /^import\s*\{([^}]*)\}\s*from\s*'([^']+)';?[ \t]*$/gm;
const EXPORT_LIST = /^export\s*\{([^}]*)\};?[ \t]*$/gm;
const EXPORT_DECLARATION =
  /^export\s+((?:async\s+)?(?:function\*?|class|const|let)\s+([A-Za-z_$][\w$]*))/gm;

class BuildError extends Error {}

function names(list) {
  return list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const [imported, local = imported] = item.split(/\s+as\s+/);
      return { imported, local };
    });
}

function moduleId(fromFile, specifier) {
  return path
    .relative(SOURCE, path.resolve(path.dirname(fromFile), specifier))
    .split(path.sep)
    .join('/');
}

/** One source module: its dependencies, external imports, exports and rewritten body. */
function parseModule(id) {
  const file = path.join(SOURCE, id);
  let text = readFileSync(file, 'utf8');
  const dependencies = [];
  const externals = [];
  text = text.replace(IMPORT, (statement, list, specifier) => {
    if (!specifier.startsWith('.')) {
      externals.push(statement.trim());
      return '';
    }
    const dependency = moduleId(file, specifier);
    dependencies.push(dependency);
    const bindings = names(list).map(({ imported, local }) =>
      imported === local ? local : `${imported}: ${local}`,
    );
    return `const { ${bindings.join(', ')} } = modules[${JSON.stringify(dependency)}];`;
  });
  const exported = [];
  text = text.replace(EXPORT_LIST, (statement, list) => {
    for (const { imported, local } of names(list)) {
      if (imported !== local) throw new BuildError(`${id}: 'export { a as b }' is not supported`);
      exported.push(local);
    }
    return '';
  });
  text = text.replace(EXPORT_DECLARATION, (statement, declaration, name) => {
    exported.push(name);
    return declaration;
  });
  const leftover = /^\s*(import|export)\b.*$/m.exec(text);
  if (leftover) throw new BuildError(`${id}: unsupported module syntax: ${leftover[0].trim()}`);
  return { id, dependencies, externals, exported, body: text.trim() };
}

/** Modules reachable from `entry`, each after the ones it imports. */
function ordered(entry) {
  const done = new Map();
  const visiting = new Set();
  const visit = (id) => {
    if (done.has(id)) return;
    if (visiting.has(id)) throw new BuildError(`import cycle through ${id}`);
    visiting.add(id);
    const parsed = parseModule(id);
    for (const dependency of parsed.dependencies) visit(dependency);
    visiting.delete(id);
    done.set(id, parsed);
  };
  visit(entry);
  return [...done.values()];
}

function moduleScopes(modules) {
  return modules
    .map(
      (parsed) =>
        `// src/${parsed.id}\nmodules[${JSON.stringify(parsed.id)}] = (function () {\n${parsed.body}\n\nreturn { ${parsed.exported.join(', ')} };\n})();`,
    )
    .join('\n\n');
}

function banner(version) {
  return `/*! @lookout/tracker ${version} | built from src/ by scripts/build.mjs: edit the sources, not this file */`;
}

function classicScript(entry, globalName, version) {
  const modules = ordered(entry);
  const externals = modules.flatMap((parsed) => parsed.externals);
  if (externals.length)
    throw new BuildError(`a classic script cannot import: ${externals.join('; ')}`);
  return `${banner(version)}
(function (root) {
'use strict';
const modules = {};

${moduleScopes(modules)}

root.${globalName} = modules[${JSON.stringify(entry)}];
})(typeof window !== 'undefined' ? window : globalThis);
`;
}

function esModule(entry, version) {
  const modules = ordered(entry);
  const externals = [...new Set(modules.flatMap((parsed) => parsed.externals))];
  const entryExports = modules[modules.length - 1].exported;
  return `${banner(version)}
${externals.join('\n')}
const modules = {};

${moduleScopes(modules)}

export const { ${entryExports.join(', ')} } = modules[${JSON.stringify(entry)}];
`;
}

function checkSyntax(file) {
  try {
    execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' });
  } catch (error) {
    throw new BuildError(`${file} does not parse:\n${error.stderr}`);
  }
}

/** Writes the three files into `outDir`; returns their paths. */
export function build(outDir = path.join(ROOT, 'dist')) {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const sourceVersion = /VERSION = '([^']+)'/.exec(
    readFileSync(path.join(SOURCE, 'version.js'), 'utf8'),
  );
  if (!sourceVersion || sourceVersion[1] !== version) {
    throw new BuildError(`src/version.js VERSION must equal package.json's version ${version}`);
  }
  mkdirSync(outDir, { recursive: true });
  const outputs = {
    'lookout.js': classicScript('index.js', 'Lookout', version),
    'lookout.mjs': esModule('index.js', version),
    'react.mjs': esModule('react.js', version),
  };
  const written = {};
  for (const [name, text] of Object.entries(outputs)) {
    const file = path.join(outDir, name);
    writeFileSync(file, text);
    checkSyntax(file);
    written[name] = file;
  }
  new vm.Script(outputs['lookout.js'], { filename: 'lookout.js' });
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    const written = build(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
    for (const file of Object.values(written)) {
      console.log(`${path.relative(process.cwd(), file)}  ${readFileSync(file).length} bytes`);
    }
  } catch (error) {
    console.error(error instanceof BuildError ? `build failed: ${error.message}` : error);
    process.exitCode = 1;
  }
}
