"""The geometry of a 2-D sliding window, shared by convolution and pooling, and of a
3-D one (a run of depths times a 2-D window), for the 3-D convolutions."""


class Window:
    """Geometry of a 2-D sliding window: kernel, stride, dilation, padding as
    (top, bottom, left, right), and the input size it slides over."""
    __slots__ = ("kernel", "stride", "dilation", "padding", "in_size", "out_size", "_offsets", "_reaches_input")

    def __init__(self, kernel, stride, dilation, padding, in_size, out_size):
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        self.padding, self.in_size, self.out_size = padding, in_size, out_size
        self._offsets = self._reaches_input = None

    @property
    def padded_size(self):
        (h, w), (top, bottom, left, right) = self.in_size, self.padding
        return h + top + bottom, w + left + right

    @property
    def overlapping(self):
        """Whether an input element can fall in more than one window."""
        return any(s < d * (k - 1) + 1 for k, s, d in zip(self.kernel, self.stride, self.dilation))

    @property
    def tiles(self):
        """Whether the windows lie side by side with neither overlaps nor gaps, covering
        the padded input's first out_size * kernel rows and columns once each."""
        return self.stride == self.kernel and self.dilation == (1, 1)

    @property
    def reaches_input(self):
        """Whether every window has a cell inside the input; with dilation, one may lie
        wholly in the padding (its maximum is then the padding's)."""
        if self._reaches_input is None:
            before = self.padding[0], self.padding[2]
            self._reaches_input = all(
                any(0 <= o * s - p + j * d < size for j in range(k))
                for k, s, d, p, size, out in zip(self.kernel, self.stride, self.dilation, before, self.in_size,
                                                 self.out_size)
                for o in range(out))
        return self._reaches_input

    def offsets(self):
        """(kernel index, rows, columns) per kernel offset: the slices of the padded
        input that the offset reads across all windows, in row-major kernel order."""
        if self._offsets is None:
            (kh, kw), (sh, sw), (dh, dw), (oh, ow) = self.kernel, self.stride, self.dilation, self.out_size
            self._offsets = tuple((i * kw + j, slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                                   slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))
                                  for i in range(kh) for j in range(kw))
        return self._offsets

    def pad(self, xp, data, value):
        top, bottom, left, right = self.padding
        if not (top or bottom or left or right):
            return data
        h, w = self.in_size
        out = xp.full(data.shape[:-2] + self.padded_size, value, dtype=data.dtype)
        out[..., top:top + h, left:left + w] = data
        return out

    def crop(self, data):
        top, _, left, _ = self.padding
        h, w = self.in_size
        if data.shape[-2:] == (h, w):
            return data
        return data[..., top:top + h, left:left + w]


class VolumeWindow:
    """Geometry of a 3-D sliding window over (D, H, W): the depth axis's kernel,
    stride, dilation, zero padding ``before`` and ``after``, input and output depth,
    and ``plane``, the 2-D ``Window`` over each (H, W) plane."""
    __slots__ = ("kernel", "stride", "dilation", "before", "after", "in_depth", "out_depth", "plane")

    def __init__(self, kernel, stride, dilation, before, after, in_depth, out_depth, plane):
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        self.before, self.after, self.in_depth, self.out_depth, self.plane = before, after, in_depth, out_depth, plane

    @property
    def padded_size(self):
        return (self.in_depth + self.before + self.after,) + self.plane.padded_size

    @property
    def out_size(self):
        return (self.out_depth,) + self.plane.out_size

    def depth_taps(self, first=0, end=None):
        """Per depth kernel offset, the slice of the padded depths it reads for output
        depths ``first`` to ``end`` (all of them by default)."""
        s, d = self.stride, self.dilation
        end = self.out_depth if end is None else end
        return [slice(k * d + s * first, k * d + s * (end - 1) + 1, s) for k in range(self.kernel)]

    def pad(self, backend, data):
        """(..., D, H, W) with zeros around it, in the backend's scratch memory."""
        (top, _, left, _), (h, w) = self.plane.padding, self.plane.in_size
        if self.padded_size == (self.in_depth, h, w):
            return data
        out = backend.scratch(data.shape[:-3] + self.padded_size, data.dtype)
        out[...] = 0
        out[..., self.before:self.before + self.in_depth, top:top + h, left:left + w] = data
        return out

    def crop(self, data):
        """The (..., D, H, W) input region of a padded (..., Dp, Hp, Wp) array."""
        (top, _, left, _), (h, w) = self.plane.padding, self.plane.in_size
        if data.shape[-3:] == (self.in_depth, h, w):
            return data
        return data[..., self.before:self.before + self.in_depth, top:top + h, left:left + w]
