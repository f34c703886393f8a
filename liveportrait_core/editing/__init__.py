"""Expression editing: the slider table and slider states, applying them to motion, keyframe timelines, editing source videos."""
