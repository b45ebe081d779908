/**
 * The layers Sapphire's architecture promises, checked by `npm test` (npm run check:layers):
 * pure rules in shared/domain, thin functions over shared/, no function reaching into another,
 * product code never reaching into scripts/ or test/, and no import cycles.
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'shared/domain/ holds the trading rules: it imports only itself, zod and node built-ins, never an SDK or an adapter.',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { pathNot: ['^shared/domain/', '(^|/)node_modules/zod/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'functions-are-wiring',
      comment: 'A function imports shared/, triggers/ and packages only: no other function, no script, no test.',
      severity: 'error',
      from: { path: '^functions/([^/]+)/' },
      to: { pathNot: ['^shared/', '^triggers/', '^functions/$1/', '(^|/)node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'nothing-imports-functions',
      comment:
        'Functions are entry points, never imported for their exports; tests and the local stack load one as its runtime does, by dynamic import of the entry point.',
      severity: 'error',
      from: { pathNot: '^functions/([^/]+)/' },
      to: { path: '^functions/', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'product-does-not-import-tools',
      comment: 'shared/ and triggers/ ship in every bundle: they never import a function, a script or a test, not even dynamically.',
      severity: 'error',
      from: { path: '^(shared|triggers)/' },
      to: { path: '^(functions|scripts|test)/' },
    },
    {
      name: 'no-cycles',
      comment: 'A cycle makes load order matter and hides which module owns a concept.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^test/fixtures/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
