// Files imported `with { type: "file" }` resolve to a path (inside the executable once compiled).
declare module "*.wasm" {
  const path: string;
  export default path;
}
declare module "*.gz" {
  const path: string;
  export default path;
}
