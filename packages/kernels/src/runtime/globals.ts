// Installs Dawn's WebGPU globals (GPUBufferUsage, GPUMapMode, ...) once,
// before any module that reads them is evaluated.
import { globals } from "webgpu";

Object.assign(globalThis, globals);
