# Object slots (``__slots__``) of Python classes read and written from native code, at the offsets their
# member descriptors give: what CPython's member descriptors do, without the attribute lookup. Callers
# check the object's exact type before using an offset taken from that type (sim_core, oms_core,
# backtest_core).

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_XDECREF

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        const char *name
        int type
        Py_ssize_t offset
        int flags

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member


cdef inline Py_ssize_t object_slot_offset(object cls, str name):
    """The offset of ``cls``'s object slot ``name`` (T_OBJECT / T_OBJECT_EX member), or -1 if it has none."""
    for k in cls.__mro__:
        d = k.__dict__.get(name)
        if d is not None:
            if type(d).__name__ != "member_descriptor":
                return -1
            m = (<PyMemberDescrObject *>d).d_member
            if m.type != 16 and m.type != 6:  # T_OBJECT_EX / T_OBJECT
                return -1
            return m.offset
    return -1


cdef inline Py_ssize_t slot_offset(object cls, str name) except -1:
    """:func:`object_slot_offset`, raising TypeError where ``cls`` has no such object slot."""
    cdef Py_ssize_t off = object_slot_offset(cls, name)
    if off < 0:
        raise TypeError(f"{cls.__name__}.{name} is not an object slot")
    return off


cdef inline object slot_get(object obj, Py_ssize_t off):
    """The object in the slot at ``off`` (AttributeError if it was never set, as Python says)."""
    cdef PyObject *p = (<PyObject **>((<char *><PyObject *>obj) + off))[0]
    if p == NULL:
        raise AttributeError(f"{type(obj).__name__} slot at offset {off} is not set")
    return <object>p


cdef inline void slot_put(object obj, Py_ssize_t off, object value) noexcept:
    """Store ``value`` in the slot at ``off`` (a new reference; the old value, if any, released)."""
    cdef PyObject **slot = <PyObject **>((<char *><PyObject *>obj) + off)
    cdef PyObject *old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject *>value
    Py_XDECREF(old)
