"""Forces of a Lennard-Jones cluster as -grad(energy), and a short velocity-Verlet run.

`energy` is a plain double loop over pairs i < j; tp.jit(tp.grad(energy)) turns it into a
compiled reverse-mode loop (no unrolling), so the forces cost a small multiple of the energy.
The forces are checked against central finite differences and Newton's third law (they sum to
zero), then a few hundred velocity-Verlet steps show that the total energy is conserved.

Run: python samples/lennard_jones.py
"""
import time

import numpy as np

import transpile as tp


def energy(positions, epsilon=1.0, sigma=1.0):
    """Total Lennard-Jones energy of atoms at `positions` (n, 3), reduced units."""
    n = positions.shape[0]
    total = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            d = positions[i] - positions[j]
            r2 = np.sum(d * d)
            s6 = (sigma * sigma / r2) ** 3
            total += 4.0 * epsilon * (s6 * s6 - s6)
    return total


energy_jit = tp.jit(energy)
grad_energy = tp.jit(tp.grad(energy))            # forces = -grad_energy(positions)


def forces(positions):
    return -grad_energy(positions)


def make_cluster(side=3, spacing=1.12, jitter=0.03, seed=0):
    """Atoms on a side x side x side cubic lattice near the LJ minimum distance, slightly jittered."""
    rng = np.random.default_rng(seed)
    grid = np.arange(side) * spacing
    pos = np.array([[a, b, c] for a in grid for b in grid for c in grid], dtype=np.float64)
    return pos + jitter * rng.normal(size=pos.shape)


def finite_difference_forces(energy_fn, pos, h=1e-6):
    forces = np.zeros_like(pos)
    for i in range(pos.shape[0]):
        for k in range(3):
            plus, minus = pos.copy(), pos.copy()
            plus[i, k] += h
            minus[i, k] -= h
            forces[i, k] = -(energy_fn(plus) - energy_fn(minus)) / (2.0 * h)
    return forces


def velocity_verlet(pos, vel, energy_fn, force_fn, dt, steps, mass=1.0):
    """Integrate; returns final state and the total energy after every step."""
    force = force_fn(pos)
    energies = [energy_fn(pos) + 0.5 * mass * np.sum(vel * vel)]
    for _ in range(steps):
        vel = vel + 0.5 * dt * force / mass
        pos = pos + dt * vel
        force = force_fn(pos)
        vel = vel + 0.5 * dt * force / mass
        energies.append(energy_fn(pos) + 0.5 * mass * np.sum(vel * vel))
    return pos, vel, np.array(energies)


def main(side=3, steps=500, dt=0.002, temperature=0.1, seed=0, verbose=True):
    pos = make_cluster(side, seed=seed)
    n = pos.shape[0]
    start = time.perf_counter()
    f = forces(pos)
    first_s = time.perf_counter() - start
    f_fd = finite_difference_forces(energy_jit, pos)
    fd_error = float(np.max(np.abs(f - f_fd)) / np.max(np.abs(f_fd)))
    net_force = float(np.max(np.abs(f.sum(axis=0))))

    rng = np.random.default_rng(seed + 1)
    vel = rng.normal(scale=np.sqrt(temperature), size=pos.shape)
    vel -= vel.mean(axis=0)                                   # no drift of the centre of mass
    start = time.perf_counter()
    _, vel_end, energies = velocity_verlet(pos, vel, energy_jit, forces, dt, steps)
    md_s = time.perf_counter() - start
    drift = float(np.max(np.abs(energies - energies[0])) / abs(energies[0]))
    momentum = float(np.max(np.abs(vel_end.sum(axis=0))))
    if verbose:
        print(f"{n} atoms, {n * (n - 1) // 2} pairs; energy {energy_jit(pos):.6f} "
              f"(plain Python: {energy(pos):.6f})")
        print(f"forces: max relative error vs finite differences {fd_error:.2e}; "
              f"|sum of forces| {net_force:.2e}  (first call {first_s:.2f} s)")
        print(f"velocity Verlet, {steps} steps of dt={dt}: total energy "
              f"{energies[0]:.6f} -> {energies[-1]:.6f}, max relative drift {drift:.2e}, "
              f"|total momentum| {momentum:.2e}  ({md_s:.2f} s)")
    return {"forces": f, "fd_error": fd_error, "net_force": net_force, "energies": energies,
            "drift": drift, "momentum": momentum}


if __name__ == "__main__":
    main()
