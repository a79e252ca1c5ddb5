"""The package imports and works with no GPU and without importing Triton."""
import subprocess
import sys


def test_import_does_not_load_triton():
    code = (
        "import sys, torch\n"
        "import proxgan, proxgan.kernels, proxgan.penalties\n"
        "assert 'triton' not in sys.modules, 'triton imported at import time'\n"
        "y = proxgan.penalties.L1(0.5).prox(torch.tensor([1.0, -0.2]), 1.0)\n"
        "assert y.tolist() == [0.5, 0.0]\n"
        "assert 'triton' not in sys.modules, 'triton imported by the CPU path'\n"
        "print('ok')\n"
    )
    env = {"PATH": "", "TRITON_INTERPRET": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_all_names_exist():
    import proxgan
    import proxgan.kernels
    import proxgan.penalties

    for mod in (proxgan, proxgan.kernels, proxgan.penalties):
        for name in mod.__all__:
            assert hasattr(mod, name), f"{mod.__name__}.{name}"
