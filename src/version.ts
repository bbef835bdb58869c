/** attnkit's version, as in package.json (test/api/version.test.ts keeps the two equal): the CLI's --version, the viewer's export and ONNX files' producer_version. */
export const VERSION = '0.1.0';
