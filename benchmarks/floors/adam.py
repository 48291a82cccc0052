"""Adam (Kingma & Ba, as torch.optim.Adam with no weight decay), updating the
parameters in place through one scratch buffer per parameter."""
import math


class AdamFloor:
    def __init__(self, xp, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.xp, self.params = xp, params
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.t = 0
        self.m = [xp.zeros_like(p) for p in params]
        self.v = [xp.zeros_like(p) for p in params]
        self.scratch = [xp.empty_like(p) for p in params]

    def step(self, grads):
        xp, b1, b2 = self.xp, self.beta1, self.beta2
        self.t += 1
        correction1 = 1 - b1 ** self.t
        root_correction2 = math.sqrt(1 - b2 ** self.t)
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.scratch):
            m *= b1
            xp.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2
            xp.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            xp.sqrt(v, out=tmp)       # denominator sqrt(v_hat) + eps, as PyTorch forms it
            tmp /= root_correction2
            tmp += self.eps
            xp.divide(m, tmp, out=tmp)
            tmp *= -self.lr / correction1
            p += tmp
