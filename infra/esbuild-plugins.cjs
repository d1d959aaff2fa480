// esbuild plugins for the Lambda bundles (serverless.yml custom.esbuild.plugins; serverless-esbuild
// require()s this file, hence CommonJS).

/**
 * zod re-exports every message locale it ships (`z.locales`, about 200 KB minified) and esbuild
 * cannot drop a namespace re-export. Nothing here reads `z.locales`: zod's English messages are
 * configured from their own module, which this leaves alone; only the namespace of the other
 * languages becomes empty.
 */
const zodWithoutLocales = {
  name: 'zod-without-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: 'zod-locales', namespace: 'zod-without-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-without-locales' }, () => ({ contents: 'export {};' }));
  },
};

module.exports = [zodWithoutLocales];
