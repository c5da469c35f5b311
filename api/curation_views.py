"""What the curation endpoints share: strict input (an unknown or read-only field is a 400),
the `owner` and `confirm` parameters, and the base views."""

from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin

from curation import selectors


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not accept, so writing `owner` or `sha256` is an error, not a
    silent no-op."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["read-only or unknown field"] for name in unknown}
                )
        return super().to_internal_value(data)


def validated(serializer_class, data, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def owner_param(request) -> str | None:
    """`?owner=<username>`, where `me` means the signed-in user."""
    owner = request.query_params.get("owner")
    return request.user.username if owner == "me" else owner


def confirm_flag(request) -> bool:
    """`?confirm=true` or `{"confirm": true}` in the body."""
    value = request.query_params.get("confirm")
    return value is not None and serializers.BooleanField().to_internal_value(value)


class CurationView(GenericAPIView):
    def scene_set(self, set_id: int):
        return selectors.scene_set_get(scene_set_id=set_id)


# GET lists `get_queryset()`, paginated, and is described as a list in the schema.
class CurationListView(ListModelMixin, CurationView):
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)
