// Shared by the sort kernels (sort.py): elements are ordered by (key, index), where the key
// (sort.py's KEY, per dtype) is a u32 whose unsigned order is the value order. Indices are
// distinct, so this is a total order and every sort built on it is stable.
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
    return ka < kb || (ka == kb && ia < ib);
}
