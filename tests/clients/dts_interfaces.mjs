// Prints the interfaces and type aliases of a hand-written .d.ts file as JSON, for
// test_js_admin_contract.py: node dts_interfaces.mjs <package.json that has typescript> <file.d.ts>
// {interfaces: {Name: {extends: [names], properties: {name: type}, methods: {name: return type}}},
//  aliases: {Name: type}}
// A type is "string", "number", "boolean", "null", "unknown", {array: type},
// {union: [types]}, {ref: name, args: [types]}, {object: {name: type}}, or {other: its text}
// for anything else (functions, `typeof`), which no answer's type holds.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [manifest, file] = process.argv.slice(2);
const ts = createRequire(manifest)('typescript');
const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);

function memberName(member) {
  return ts.isIdentifier(member.name) || ts.isStringLiteral(member.name) ? member.name.text : null;
}

function typeOf(node) {
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return 'string';
    case ts.SyntaxKind.NumberKeyword:
      return 'number';
    case ts.SyntaxKind.BooleanKeyword:
      return 'boolean';
    case ts.SyntaxKind.UnknownKeyword:
      return 'unknown';
    case ts.SyntaxKind.NullKeyword:
      return 'null';
  }
  if (ts.isLiteralTypeNode(node)) {
    const literal = node.literal;
    if (literal.kind === ts.SyntaxKind.NullKeyword) return 'null';
    if (ts.isStringLiteral(literal)) return 'string';
    if (ts.isNumericLiteral(literal)) return 'number';
    return 'boolean';
  }
  if (ts.isParenthesizedTypeNode(node)) return typeOf(node.type);
  if (ts.isArrayTypeNode(node)) return { array: typeOf(node.elementType) };
  if (ts.isUnionTypeNode(node)) return { union: node.types.map(typeOf) };
  if (ts.isTypeReferenceNode(node)) {
    return { ref: node.typeName.getText(source), args: (node.typeArguments ?? []).map(typeOf) };
  }
  if (ts.isTypeLiteralNode(node)) return { object: properties(node.members) };
  return { other: node.getText(source) };
}

function properties(members) {
  const found = {};
  for (const member of members) {
    if (ts.isPropertySignature(member) && member.type) found[memberName(member)] = typeOf(member.type);
  }
  return found;
}

const interfaces = {};
const aliases = {};
for (const statement of source.statements) {
  if (ts.isTypeAliasDeclaration(statement)) aliases[statement.name.text] = typeOf(statement.type);
  if (!ts.isInterfaceDeclaration(statement)) continue;
  const methods = {};
  for (const member of statement.members) {
    if (ts.isMethodSignature(member) && member.type) methods[memberName(member)] = typeOf(member.type);
  }
  interfaces[statement.name.text] = {
    extends: (statement.heritageClauses ?? []).flatMap((clause) =>
      clause.types.map((type) => type.expression.getText(source)),
    ),
    properties: properties(statement.members),
    methods,
  };
}
process.stdout.write(JSON.stringify({ interfaces, aliases }));
