"""Where the project under test is: the checkout holding these tests."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
