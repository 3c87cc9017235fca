// Jest on the @jupyterlab/testing preset: jsdom, ts-jest, and babel for the
// ES-module packages (@jupyterlab/*, @lumino/*) that node_modules ships.
const jestJupyterLab = require('@jupyterlab/testing/lib/jest-config');

const esModules = [
  '@codemirror',
  '@jupyter/',
  '@jupyterlab/',
  '@lumino/',
  '@microsoft',
  'exenv-es6',
  'lib0',
  'nanoid',
  'vscode-ws-jsonrpc',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const base = jestJupyterLab(__dirname);

module.exports = {
  ...base,
  automock: false,
  reporters: ['default'],
  testRegex: 'src/__tests__/.*\\.spec\\.tsx?$',
  modulePathIgnorePatterns: ['<rootDir>/start_spark/'],
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
