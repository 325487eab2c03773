"""The wgpu runtime: one device per process, a buffer pool, pipelines cached per kernel and
constants, and dispatches recorded into one compute pass of one command encoder that is
submitted only when something reads back (or the batch grows large).

Ordering: every write to a pooled buffer is a dispatch or a copy recorded in the encoder, so a
buffer freed while recorded work still reads it can be handed out again safely — the queue runs
commands in recording order (and in a compute pass each dispatch is its own usage scope, so a
dispatch sees the writes of the ones before it). Uploads make fresh buffers
(`create_buffer_with_data`) for the same reason: `queue.write_buffer` would run before commands
recorded earlier but not yet submitted.

Per-dispatch cost on the Python side (most of it wgpu-py building structs): kernel parameters go
to an append-only uniform arena where each distinct parameter block is written once (a region no
recorded command has used yet, so an early `write_buffer` is safe) and bind groups are cached by
(pipeline, buffers, parameter slot), so a training loop that repeats its launches creates
neither.
"""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict, defaultdict
from importlib import resources

INSTALL_HINT = (
    "install a Vulkan driver (Debian/Ubuntu: `apt-get install mesa-vulkan-drivers`, which gives "
    "the software adapter 'llvmpipe'), or use a machine whose GPU driver provides Vulkan, Metal "
    "or Direct3D 12"
)
OPTIONAL_FEATURES = ("shader-f16", "timestamp-query", "subgroup")
# Ask for the adapter's own maxima: the defaults (128 MiB bindings, 16 KiB shared memory) are
# lower than what datacenter GPUs offer and what the tiled kernels want.
REQUESTED_LIMITS = (
    "max-buffer-size",
    "max-storage-buffer-binding-size",
    "max-storage-buffers-per-shader-stage",
    "max-compute-workgroup-storage-size",
    "max-compute-invocations-per-workgroup",
    "max-compute-workgroup-size-x",
    "max-compute-workgroup-size-y",
    "max-compute-workgroup-size-z",
    "max-compute-workgroups-per-dimension",
)
MAX_PENDING = 512  # dispatches per submit: bounds the memory that recorded work keeps alive
PARAMS_ARENA = 1 << 20  # bytes of distinct uniform parameter blocks before the arena starts over
BIND_GROUPS_KEEP = 4096  # cached bind groups (least recently used dropped first)
POOL_KEEP = 2 << 30  # bytes of free buffers the pool may hold before it destroys them


class NoAdapterError(RuntimeError):
    """No WebGPU adapter (or no wgpu package): says how to get one."""


class KernelError(RuntimeError):
    """A WGSL kernel failed to compile or to build its pipeline; names the kernel."""


class Storage:
    """A pooled device buffer of `nbytes` (the buffer may be larger); back to the pool on drop.

    The runtime also holds every buffer a live Storage owns (`Runtime._live`): when a Storage dies
    inside a garbage reference cycle (a traceback's frames, say), its buffer is then not part of
    the garbage, so wgpu's own finaliser cannot release a buffer that __del__ is returning to the
    pool."""

    __slots__ = ("buffer", "nbytes", "__weakref__")

    def __init__(self, buffer, nbytes: int):
        self.buffer, self.nbytes = buffer, nbytes

    def __del__(self):
        rt = _runtime
        if rt is not None and self.buffer is not None:
            rt.release(self.buffer)


def _size_class(nbytes: int) -> int:
    """Pool bucket: powers of two up to 1 MiB, then 1 MiB steps (at most 2x or +1 MiB spare)."""
    n = max(nbytes, 256)
    if n <= 1 << 20:
        return 1 << (n - 1).bit_length()
    return -(-n // (1 << 20)) << 20


class Runtime:
    def __init__(self):
        try:
            import wgpu
        except ImportError as e:  # pragma: no cover - wgpu is a dependency
            raise NoAdapterError(f"wgpu: the 'wgpu' package is missing: pip install wgpu; then {INSTALL_HINT}") from e
        self.wgpu = wgpu
        adapter = wgpu.gpu.request_adapter_sync(power_preference="high-performance")
        if adapter is None:
            raise NoAdapterError(f"wgpu: no WebGPU adapter found: {INSTALL_HINT}")
        self.adapter = adapter
        self.features = tuple(f for f in OPTIONAL_FEATURES if f in adapter.features)
        self.limits = {k: adapter.limits[k] for k in REQUESTED_LIMITS if k in adapter.limits}
        self.device = adapter.request_device_sync(required_features=self.features, required_limits=self.limits)
        self.queue = self.device.queue
        self.uniform_align = max(adapter.limits.get("min-uniform-buffer-offset-alignment", 256), 16)
        self.usage = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_SRC | wgpu.BufferUsage.COPY_DST
        self._lock = threading.RLock()
        self._pipelines = {}
        self._shader_modules = {}
        self._free = defaultdict(list)
        self._free_bytes = 0
        self._live = {}  # id(buffer) -> buffer of every live Storage (see Storage)
        self._doomed = []  # buffers over the pool's budget, destroyed at the next submit
        self._encoder = None
        self._pass = None  # the open compute pass of `_encoder`
        self._bound = (None, None)  # pipeline and bind group last set in `_pass`
        self._pending = 0
        self._param_slots = {}  # parameter bytes -> arena offset
        self._params_used = 0
        self._bind_groups = OrderedDict()
        self._layouts = {}  # id(pipeline) -> (pipeline, its group-0 layout)
        self.reads = 0  # device-to-host reads so far: tests assert a training step makes none
        self._sync_buffer = None
        self._params_buffer = self.device.create_buffer(
            size=PARAMS_ARENA, usage=wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST
        )

    # ---- facts -------------------------------------------------------------------------------
    @property
    def info(self) -> dict:
        i = self.adapter.info
        return {
            "vendor": i.get("vendor", ""),
            "device": i.get("device", ""),
            "description": i.get("description", ""),
            "adapter_type": i.get("adapter_type", ""),
            "backend_type": i.get("backend_type", ""),
            "features": self.features,
            "limits": dict(self.limits),
        }

    @property
    def max_binding(self) -> int:
        return self.limits.get("max-storage-buffer-binding-size", 128 << 20)

    @property
    def storage_align(self) -> int:
        return max(self.adapter.limits.get("min-storage-buffer-offset-alignment", 256), 4)

    def fits_one_binding(self, lo: int, hi: int, itemsize: int = 4) -> bool:
        """Whether elements [lo, hi) fit one binding wherever they start (a window's start is
        aligned down, so up to one alignment more is bound)."""
        return (hi - lo) * itemsize <= self.max_binding - self.storage_align

    def window(self, storage: Storage, lo: int, hi: int, itemsize: int = 4):
        """(binding, first element) covering elements [lo, hi) of `storage`: the whole buffer when
        it fits one binding, else an aligned window of it (kernels then index from the first
        element). A span larger than one binding is a ValueError: the caller splits its work."""
        if storage.nbytes <= self.max_binding:
            return storage, 0
        start = lo * itemsize // self.storage_align * self.storage_align
        size = max(-(-(hi * itemsize - start) // 4) * 4, 4)
        if size > self.max_binding:
            raise ValueError(
                f"wgpu: a view spanning {size} bytes exceeds the device's max-storage-buffer-binding-size "
                f"{self.max_binding}"
            )
        return (storage, start, size), start // itemsize

    @property
    def max_workgroups(self) -> int:
        return self.limits.get("max-compute-workgroups-per-dimension", 65535)

    # ---- memory ------------------------------------------------------------------------------
    def alloc(self, nbytes: int) -> Storage:
        """A pooled buffer of at least `nbytes`; its contents are undefined."""
        size = _size_class(nbytes)
        if size > self.limits.get("max-buffer-size", 256 << 20):
            raise ValueError(
                f"wgpu: a buffer of {nbytes} bytes exceeds the device's max-buffer-size "
                f"{self.limits.get('max-buffer-size')}"
            )
        with self._lock:
            free = self._free.get(size)
            if free:
                self._free_bytes -= size
                buf = free.pop()
                self._live[id(buf)] = buf
                return Storage(buf, nbytes)
        return self._own(self.device.create_buffer(size=size, usage=self.usage), nbytes)

    def _own(self, buffer, nbytes: int) -> Storage:
        with self._lock:
            self._live[id(buffer)] = buffer
        return Storage(buffer, nbytes)

    def upload(self, data) -> Storage:
        """A fresh buffer holding the bytes of `data` (a C-contiguous numpy array)."""
        raw = memoryview(data).cast("B")
        nbytes = raw.nbytes
        size = _size_class(nbytes)
        if nbytes < size:  # whole size class, so the buffer can join the pool later
            padded = bytearray(size)
            padded[:nbytes] = raw
            raw = padded
        if size > self.limits.get("max-buffer-size", 256 << 20):
            raise ValueError(f"wgpu: a tensor of {nbytes} bytes exceeds the device's max-buffer-size")
        return self._own(self.device.create_buffer_with_data(data=raw, usage=self.usage), nbytes)

    def release(self, buffer) -> None:
        with self._lock:
            self._live.pop(id(buffer), None)
            if self._free_bytes + buffer.size > POOL_KEEP:
                self._forget_bind_groups(buffer)
                if self._encoder is None:
                    buffer.destroy()
                else:  # recorded, unsubmitted commands may use it: destroy after the submit
                    self._doomed.append(buffer)
                return
            self._free[buffer.size].append(buffer)
            self._free_bytes += buffer.size

    def read(self, storage: Storage, offset: int = 0, nbytes: int | None = None) -> memoryview:
        """Bytes of a buffer, after every recorded command has run."""
        self.flush()
        self.reads += 1
        n = storage.nbytes - offset if nbytes is None else nbytes
        if n == 0:
            return memoryview(b"")
        return self.queue.read_buffer(storage.buffer, offset, n)

    # ---- kernels -----------------------------------------------------------------------------
    def pipeline(self, shader: str, entry: str = "main", constants: dict | None = None, source=None):
        """The compute pipeline for `entry` of shaders/`shader`.wgsl (or `source`: WGSL text, or a
        function returning it, called only on a cache miss, for generated kernels), cached per
        kernel name and override constants (the shape class)."""
        key = (shader, entry, tuple(sorted((constants or {}).items())))
        pipe = self._pipelines.get(key)
        if pipe is not None:
            return pipe
        with self._lock:
            module = self._shader_modules.get(shader)
            if module is None:
                code = load_shader(shader) if source is None else source() if callable(source) else source
                try:
                    module = self.device.create_shader_module(label=shader, code=code)
                except Exception as e:  # wgpu raises GPUValidationError with the compiler's message
                    raise KernelError(f"wgpu kernel {shader!r}: WGSL failed to compile:\n{e}") from None
                self._shader_modules[shader] = module
            stage = {"module": module, "entry_point": entry}
            if constants:
                stage["constants"] = dict(constants)
            try:
                pipe = self.device.create_compute_pipeline(label=f"{shader}:{entry}", layout="auto", compute=stage)
            except Exception as e:
                raise KernelError(f"wgpu kernel {shader!r} entry {entry!r}: pipeline failed:\n{e}") from None
            self._pipelines[key] = pipe
        return pipe

    def launch(self, pipeline, buffers, grid, params: bytes | None = None) -> None:
        """Record one dispatch of `pipeline` over `grid` workgroups (x[, y[, z]]).

        `buffers`: for bindings 0..n-1 of group 0, each a Storage or (Storage, byte offset, byte
        size); `params`, when given, binds to binding n as a uniform (pack it with `pack`).
        Bindings the shader does not use must not be passed (layout="auto" drops them).
        """
        grid = tuple(grid) + (1,) * (3 - len(grid))
        if any(g > self.max_workgroups for g in grid):
            raise ValueError(f"wgpu: grid {grid} exceeds the device's {self.max_workgroups} workgroups per dimension")
        if 0 in grid:
            return
        key = [pipeline]
        for b in buffers:
            st, off, size = (b, 0, b.nbytes) if isinstance(b, Storage) else b
            size = max(size, 4)
            if size > self.max_binding:
                raise ValueError(
                    f"wgpu kernel {pipeline.label!r}: a binding of {size} bytes exceeds the device's "
                    f"max-storage-buffer-binding-size {self.max_binding} (this kernel does not split "
                    "tensors larger than one binding)"
                )
            key += (st.buffer, off, size)
        with self._lock:
            if params is not None:
                key += (self._param_slot(params), len(params))
            key = tuple(key)
            group = self._bind_groups.get(key)
            if group is None:
                group = self._bind_group(key, len(buffers))
            else:
                self._bind_groups.move_to_end(key)
            cpass = self._compute_pass()
            if self._bound[0] is not pipeline:
                cpass.set_pipeline(pipeline)
            if self._bound[1] is not group:
                cpass.set_bind_group(0, group)
            self._bound = (pipeline, group)
            cpass.dispatch_workgroups(*grid)
            self._pending += 1
            if self._pending >= MAX_PENDING:
                self.flush()

    def _bind_group(self, key: tuple, n_buffers: int):
        pipeline = key[0]
        entries = [
            {"binding": i, "resource": {"buffer": key[1 + 3 * i], "offset": key[2 + 3 * i], "size": key[3 + 3 * i]}}
            for i in range(n_buffers)
        ]
        if len(key) > 1 + 3 * n_buffers:  # the parameter slot
            off, size = key[-2:]
            entries.append({"binding": n_buffers, "resource": {"buffer": self._params_buffer, "offset": off, "size": size}})
        cached = self._layouts.get(id(pipeline))
        if cached is None or cached[0] is not pipeline:
            cached = self._layouts[id(pipeline)] = (pipeline, pipeline.get_bind_group_layout(0))
        group = self.device.create_bind_group(layout=cached[1], entries=entries)
        self._bind_groups[key] = group
        if len(self._bind_groups) > BIND_GROUPS_KEEP:
            self._bind_groups.popitem(last=False)
        return group

    def _forget_bind_groups(self, buffer) -> None:
        """Drop cached bind groups that use `buffer` (about to be destroyed)."""
        for key in [k for k in self._bind_groups if any(v is buffer for v in k)]:
            del self._bind_groups[key]

    def _compute_pass(self):
        if self._pass is None:
            if self._encoder is None:
                self._encoder = self.device.create_command_encoder()
            self._pass = self._encoder.begin_compute_pass()
            self._bound = (None, None)
        return self._pass

    def _end_pass(self) -> None:
        if self._pass is not None:
            self._pass.end()
            self._pass = None

    def copy(self, src: Storage, src_offset: int, dst: Storage, dst_offset: int, nbytes: int) -> None:
        """Record a buffer-to-buffer copy (offsets and size multiples of 4)."""
        if nbytes == 0:
            return
        with self._lock:
            self._end_pass()  # copies are recorded between passes
            if self._encoder is None:
                self._encoder = self.device.create_command_encoder()
            self._encoder.copy_buffer_to_buffer(src.buffer, src_offset, dst.buffer, dst_offset, nbytes)
            self._pending += 1

    def _param_slot(self, params: bytes) -> int:
        """The arena offset holding `params`, written there the first time they are seen."""
        params = bytes(params)
        off = self._param_slots.get(params)
        if off is not None:
            return off
        off = -(-self._params_used // self.uniform_align) * self.uniform_align
        if off + len(params) > PARAMS_ARENA:
            # Start over; what is recorded so far is submitted first, and the queue runs the new
            # writes after it.
            self.flush()
            self._param_slots.clear()
            off = 0
        self.queue.write_buffer(self._params_buffer, off, params)
        self._param_slots[params] = off
        self._params_used = off + len(params)
        return off

    def flush(self) -> None:
        """Submit everything recorded so far, as one command buffer."""
        with self._lock:
            if self._encoder is None:
                return
            self._end_pass()
            self.queue.submit([self._encoder.finish()])
            self._encoder = None
            self._pending = 0
            for buffer in self._doomed:  # submitted work keeps what it uses alive
                buffer.destroy()
            self._doomed.clear()

    def synchronize(self) -> None:
        """Wait until the device has finished all submitted work."""
        self.flush()
        # wgpu-py 0.32's on_submitted_work_done_sync fails on its callback signature; a 4-byte
        # readback waits for the same queue.
        if self._sync_buffer is None:
            self._sync_buffer = self.device.create_buffer(size=16, usage=self.usage)
        self.queue.read_buffer(self._sync_buffer, 0, 4)


def pack(*values, fmt: str) -> bytes:
    """Uniform parameters: struct format `fmt` (I = u32, i = i32, f = f32), padded to 16 bytes."""
    raw = struct.pack("<" + fmt, *values)
    return raw + b"\0" * (-len(raw) % 16)


def span(offset: int, shape, strides) -> tuple[int, int]:
    """Elements [lo, hi) of its buffer that a strided view can touch."""
    lo = offset + sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
    return lo, offset + sum((n - 1) * s for n, s in zip(shape, strides) if s > 0) + 1


def bind(view) -> tuple:
    """(binding, element offset) through which a kernel reads a strided GpuArray view: its buffer,
    or the window of it the view spans when the buffer is larger than one binding."""
    binding, base = get().window(view.storage, *span(view.offset, view.shape, view.strides), view.stored_dtype.itemsize)
    return binding, view.offset - base


def load_shader(name: str) -> str:
    try:
        return resources.files("ferrograd.wgpu").joinpath("shaders", f"{name}.wgsl").read_text()
    except FileNotFoundError:
        raise KernelError(f"wgpu kernel {name!r}: no shaders/{name}.wgsl in the package") from None


def grid_1d(n_groups: int, limit: int) -> tuple[int, int]:
    """Workgroup counts (x, y) covering `n_groups` within the per-dimension limit; shaders use
    group index `wid.x + wid.y * num_workgroups.x` and return past the end."""
    if n_groups <= limit:
        return (n_groups, 1)
    y = -(-n_groups // limit)
    return (-(-n_groups // y), y)


_runtime: Runtime | None = None
_runtime_error: Exception | None = None
_init_lock = threading.Lock()


def get() -> Runtime:
    """The process's runtime, created on first use; NoAdapterError if there is no adapter."""
    global _runtime, _runtime_error
    if _runtime is not None:
        return _runtime
    with _init_lock:
        if _runtime is None:
            if _runtime_error is not None:
                raise NoAdapterError(str(_runtime_error))
            try:
                _runtime = Runtime()
            except NoAdapterError as e:
                _runtime_error = e
                raise
    return _runtime


def is_available() -> bool:
    try:
        get()
        return True
    except NoAdapterError:
        return False
