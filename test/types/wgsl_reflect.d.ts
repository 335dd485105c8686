// The package's types describe its bare specifier; Node ESM needs the module file path.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
