declare module '@vercel/ncc' {
  interface NccOptions {
    minify?: boolean;
    license?: string;
    quiet?: boolean;
    sourceMap?: boolean;
    target?: string;
    externals?: string[];
    transpileOnly?: boolean;
  }
  interface NccResult {
    code: string;
    map?: string;
    assets: Record<string, { source: string | Buffer; permissions?: number }>;
  }
  export default function ncc(entry: string, options?: NccOptions): Promise<NccResult>;
}
