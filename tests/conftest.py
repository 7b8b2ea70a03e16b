import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def camera():
    from skimage import data

    return data.camera()


@pytest.fixture(scope="session")
def astronaut_gray():
    from skimage import color, data

    return (color.rgb2gray(data.astronaut()) * 255).astype(np.float64)
