/**
 * A "billion laughs" YAML document: each level is a list of ten aliases of the level before, so
 * nine levels expand to 10^9 strings. Parsing it is cheap; expanding it must be refused.
 */
export function aliasBomb(levels = 9): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let level = 1; level < levels; level += 1) {
    const previous = String.fromCharCode(96 + level);
    const name = String.fromCharCode(97 + level);
    lines.push(`${name}: &${name} [${Array<string>(10).fill(`*${previous}`).join(',')}]`);
  }
  return `${lines.join('\n')}\n`;
}
