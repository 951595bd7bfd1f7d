// Lint: typescript-eslint's recommended rules everywhere, and for njs/ the syntax njs 0.7.9 cannot run
// (measured, see docs/CONVENTIONS.md): what esbuild does not lower at target es2017 must not be written at all.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const njs079 = [
  { selector: 'ClassDeclaration', message: 'njs 0.7.9 has no class' },
  { selector: 'ClassExpression', message: 'njs 0.7.9 has no class' },
  { selector: 'ObjectPattern', message: 'njs 0.7.9 has no destructuring' },
  { selector: 'ArrayPattern', message: 'njs 0.7.9 has no destructuring' },
  { selector: 'AssignmentPattern', message: 'njs 0.7.9 has no default parameters' },
  { selector: 'SpreadElement', message: 'njs 0.7.9 has no spread' },
  { selector: 'RestElement', message: 'njs 0.7.9 has no rest parameters' },
  { selector: 'ForOfStatement', message: 'njs 0.7.9 has no for...of' },
  { selector: 'FunctionDeclaration[generator=true]', message: 'njs 0.7.9 has no generators' },
  { selector: 'FunctionExpression[generator=true]', message: 'njs 0.7.9 has no generators' },
  { selector: 'TaggedTemplateExpression', message: 'njs 0.7.9 has no tagged templates' },
  { selector: "NewExpression[callee.name=/^(Map|Set|WeakMap|WeakSet|URL|Proxy)$/]", message: 'njs 0.7.9 lacks this built-in' },
  { selector: "CallExpression[callee.object.name='Array'][callee.property.name='from']", message: 'njs 0.7.9 has no Array.from' },
  { selector: 'CallExpression > AwaitExpression', message: 'await inside call arguments crashes njs 0.7.9: assign first' },
  { selector: 'ExportNamedDeclaration', message: 'njs 0.7.9 accepts only `export default`' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'var/**', 'build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['njs/**/*.ts'],
    rules: { 'no-restricted-syntax': ['error', ...njs079], 'no-var': 'error' },
  },
  {
    files: ['bin/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
