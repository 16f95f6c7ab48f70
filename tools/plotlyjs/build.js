// plotly.js's own esbuild settings (its esbuild-config.js, less the dev-only constants), on our entry point.
const { build } = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');
const { glsl } = require('esbuild-plugin-glsl');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');
const version = require('./package.json').version;

build({
    entryPoints: ['./lib/index-optnas.js'],
    outfile: './dist/plotly-optnas.min.js',
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    banner: { js: `/* plotly.js v${version} (partial bundle: scatter, scattergl, bar, parcoords) | ` +
                  '(c) 2012-2025 Plotly, Inc. | MIT License: https://github.com/plotly/plotly.js/blob/master/LICENSE */' },
    plugins: [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false })],
    alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' },
    target: 'es2016',
    logLevel: 'info',
}).catch(() => process.exit(1));
