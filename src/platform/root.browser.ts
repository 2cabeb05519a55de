// A page has no package folder on disk: its files come through system.browser.ts's provideFiles.
export function projectRoot(): string {
  throw new Error('there is no project folder in a browser: the page provides its files with provideFiles()');
}
