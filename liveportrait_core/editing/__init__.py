"""Expression editing: the slider table, applying sliders to motion, and editing source videos."""
