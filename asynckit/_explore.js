// The picture of asynckit.explore(): the comparison's plot (a PNG the kernel draws with
// matplotlib) and its printed line, greyed out while a new run is under way. When the model is
// created it tells the kernel that a widget frontend is here, so that the kernel swaps its
// static plot for the sliders and this picture.

export default {
  initialize({ model }) {
    model.send({ ready: true });
  },
  render({ model, el }) {
    const img = document.createElement("img");
    img.className = "asynckit-explore-plot";
    img.style.maxWidth = "100%";
    const caption = document.createElement("pre");
    caption.className = "asynckit-explore-caption";
    caption.style.margin = "4px 0";
    el.append(caption, img);
    el.dataset.draws = "0";
    const show = () => {
      const png = model.get("png");
      if (png && img.dataset.png !== png.slice(-64)) {
        img.src = "data:image/png;base64," + png;
        img.dataset.png = png.slice(-64);
        el.dataset.draws = String(+el.dataset.draws + 1);
      }
      caption.textContent = model.get("caption");
      const busy = model.get("busy");
      img.style.opacity = busy ? "0.4" : "1";
      el.dataset.busy = busy ? "1" : "0";
    };
    model.on("change:png", show);
    model.on("change:caption", show);
    model.on("change:busy", show);
    show();
    return () => {
      model.off("change:png", show);
      model.off("change:caption", show);
      model.off("change:busy", show);
    };
  },
};
