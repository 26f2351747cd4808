"""MLflow pyfunc loader: ``mlflow.pyfunc.load_model("models:/<project>@champion")`` works
without pickle, by loading the folder with :func:`tailorml.paths.load_model`."""

from __future__ import annotations

from typing import Any


class _Wrapper:
    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import pandas as pd

        texts = data.iloc[:, 0].astype(str).tolist() if isinstance(data, pd.DataFrame) else list(data)
        proba = self.model.predict_proba(texts)
        frame = pd.DataFrame(proba, columns=[str(c) for c in self.model.classes_])
        frame.insert(0, "label", [str(c) for c in self.model.classes_[proba.argmax(axis=1)]])
        return frame


def _load_pyfunc(data_path: str) -> _Wrapper:
    from tailorml.paths import load_model

    return _Wrapper(load_model(data_path))
